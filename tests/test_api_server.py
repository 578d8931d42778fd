"""``dichvucong api --workers N``: the workers' connections have Nagle's algorithm off."""

from __future__ import annotations

import asyncio
import socket

from dichvucong.web.serve import TcpConfig
from tests.conftest import free_port


async def _accepted_nodelay(listener: socket.socket) -> int:
    """TCP_NODELAY of a connection that asyncio accepted on ``listener``."""
    loop = asyncio.get_running_loop()
    seen: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await loop.create_server(Probe, sock=listener)
    try:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        value = await asyncio.wait_for(seen, 10)
        writer.close()
        return value
    finally:
        server.close()
        await server.wait_closed()


async def test_the_shared_socket_of_the_workers_gives_connections_tcp_nodelay() -> None:
    config = TcpConfig("dichvucong.app:create_app", host="127.0.0.1", port=free_port(),
                       workers=2)  # fmt: skip
    listener = config.bind_socket()
    assert listener.proto == socket.IPPROTO_TCP
    assert listener.get_inheritable()  # handed to the worker processes
    # Without it every keep-alive response waits for the client's delayed ACK (40 ms).
    assert await _accepted_nodelay(listener) != 0
