"""The web app as a process that dies with ``kill -9`` at a chosen point of a
submission (run by tests/drills/test_api_killed.py):

    python tests/drills/api_until_killed.py PORT KILL_POINT

``after_uploads``: the documents are stored, the dossier row is not written yet.
``before_workflow``: the dossier row is committed, the workflow not started.
Settings come from DVC_* variables; Temporal is never reached.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import uvicorn


def main() -> None:
    port, point = int(sys.argv[1]), sys.argv[2]
    from dichvucong.app import create_app
    from dichvucong.dossiers import submission
    from dichvucong.settings import Settings

    def die(*_args: Any, **_kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "after_uploads":
        submission.SubmissionService._create = die  # type: ignore[method-assign]
    elif point == "before_workflow":
        submission.start_dossier_workflow = die  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown kill point {point}")

    class NoTemporal:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("Temporal is not part of this drill")

    app = create_app(Settings(), temporal=NoTemporal())  # type: ignore[arg-type]
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
