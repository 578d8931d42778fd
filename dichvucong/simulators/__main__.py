"""Run the simulators alone: ``python -m dichvucong.simulators --port 8090``.

The gateway and postal simulators then call back ``--portal`` (the portal's
public URL), and are reachable at ``http://HOST:PORT/_sim/payment`` and
``/_sim/postal`` (point DVC_PAYMENT_GATEWAY_URL / DVC_POSTAL_API_URL there).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from dichvucong.simulators import install_simulators


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Payment and postal simulators.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--portal", default="http://127.0.0.1:8000")
    parser.add_argument("--var-dir", default="var")
    args = parser.parse_args(argv)
    from dichvucong.settings import get_settings

    base = get_settings()
    settings = base.model_copy(
        update={"public_base_url": args.portal, "var_dir": Path(args.var_dir)}
    )
    app = FastAPI(title="dichvucong simulators")
    install_simulators(app, settings)
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
