"""``dichvucong api``: the web app under uvicorn, one process or N worker processes.

With ``--workers N`` uvicorn binds the listening socket itself and hands it to the
workers; that socket reports ``proto == 0``, the accepted connections inherit it, and
asyncio then leaves Nagle's algorithm on (it sets ``TCP_NODELAY`` only for sockets that
say ``IPPROTO_TCP``). Every keep-alive request after the first then waits for the
client's delayed ACK: +40 ms on Linux (measured: 44 ms vs 2 ms for the same request;
uvicorn issue #3149). We bind the socket as TCP so the workers' connections get
``TCP_NODELAY`` like the single-process server's.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import uvicorn
from uvicorn.supervisors import Multiprocess

if TYPE_CHECKING:
    from fastapi import FastAPI

APP = "dichvucong.web.serve:served_app"


def served_app() -> FastAPI:
    """The app as each uvicorn process serves it: built, then its start-up heap frozen
    (``dichvucong.heap``). Imported here: the supervisor of N workers never builds one."""
    from dichvucong.app import create_app
    from dichvucong.heap import freeze_startup_heap

    app = create_app()
    freeze_startup_heap()
    return app


class TcpConfig(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
            sock.set_inheritable(True)
        return sock


def api_config(*, host: str, port: int, workers: int = 1, trusted_proxies: str = "127.0.0.1",
               log_level: str = "info") -> TcpConfig:
    # httptools and uvloop are dependencies: named here so a missing one fails loudly
    # instead of silently falling back to the pure-Python parser and loop. Behind a
    # reverse proxy on another host (docker-compose), uvicorn's default of trusting
    # X-Forwarded-For only from 127.0.0.1 would make every citizen the proxy's address:
    # one rate-limit bucket for the whole province.
    return TcpConfig(APP, factory=True, host=host, port=port, workers=workers,
                     log_level=log_level, http="httptools", loop="uvloop", proxy_headers=True,
                     forwarded_allow_ips=trusted_proxies)  # fmt: skip


def serve(*, host: str, port: int, workers: int = 1, trusted_proxies: str = "127.0.0.1",
          log_level: str = "info") -> None:
    config = api_config(host=host, port=port, workers=workers, trusted_proxies=trusted_proxies,
                        log_level=log_level)  # fmt: skip
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()
