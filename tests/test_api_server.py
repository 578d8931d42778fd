"""``dichvucong api``: the workers' connections have Nagle's algorithm off; the citizen's
address is taken from X-Forwarded-For only when a trusted proxy sends it; the app each
process serves keeps its start-up heap out of the garbage collector's full passes."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlmodel import select

from dichvucong.db.engine import Database
from dichvucong.security.models import AuditAction, AuditEvent
from dichvucong.seed import seed
from dichvucong.settings import Settings
from dichvucong.web.serve import APP, TcpConfig
from tests.conftest import _subprocess_env, free_port


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
    config = TcpConfig(APP, host="127.0.0.1", port=free_port(),
                       workers=2)  # fmt: skip
    listener = config.bind_socket()
    assert listener.proto == socket.IPPROTO_TCP
    assert listener.get_inheritable()  # handed to the worker processes
    # Without it every keep-alive response waits for the client's delayed ACK (40 ms).
    assert await _accepted_nodelay(listener) != 0


def _client_address_seen(tmp_path: Path, trusted_proxies: str) -> str | None:
    """Runs ``dichvucong api`` with DVC_TRUSTED_PROXIES, signs in wrongly through a
    "proxy" (this process, 127.0.0.1) that says the citizen is 203.0.113.7, and returns
    the address the audit log recorded."""
    settings = Settings(var_dir=tmp_path, environment="test", secret_key="test-secret-0123456789")
    seed(settings)
    port = free_port()
    env = _subprocess_env(DVC_VAR_DIR=str(tmp_path), DVC_ENVIRONMENT="test",
                          DVC_SECRET_KEY=settings.secret_key, DVC_TRUSTED_PROXIES=trusted_proxies,
                          DVC_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}")  # fmt: skip
    api = subprocess.Popen([sys.executable, "-m", "dichvucong.cli", "api", "--port", str(port)],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for _ in range(200):
                try:
                    http.get("/api/v1/procedures")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)  # starting up, not waiting for time to pass
            answer = http.post(
                "/api/v1/auth/token",
                data={"username": "khong.co", "password": "sai-mat-khau"},
                headers={"X-Forwarded-For": "203.0.113.7"},
            )
            assert answer.status_code == 401, answer.text
    finally:
        api.terminate()
        api.wait(10)
    db = Database(settings.resolved_database_url)
    try:
        with db.session() as session:
            event = session.exec(
                select(AuditEvent).where(AuditEvent.action == AuditAction.LOGIN_FAILED)
            ).one()
            return event.ip
    finally:
        db.dispose()


def test_the_citizens_address_comes_from_a_trusted_proxy_only(tmp_path: Path) -> None:
    # docker-compose: the proxy is another container, trusted by its network.
    assert _client_address_seen(tmp_path / "a", "10.0.0.0/8,127.0.0.0/8") == "203.0.113.7"
    # Anyone else's X-Forwarded-For is ignored: no rate-limit evasion by a made-up header.
    assert _client_address_seen(tmp_path / "b", "10.0.0.1") == "127.0.0.1"


_HEAP_PROBE = """
import gc, json
from dichvucong.web.serve import served_app
served_app()
print(json.dumps({"frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects())}))
"""


def test_the_served_app_freezes_its_start_up_heap(tmp_path: Path) -> None:
    # In a process of its own: freezing this one would keep the tests' garbage forever.
    env = _subprocess_env(DVC_VAR_DIR=str(tmp_path), DVC_ENVIRONMENT="test",
                          DVC_SECRET_KEY="test-secret-0123456789")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", _HEAP_PROBE], env=env, capture_output=True,
                         text=True, timeout=120, check=True)  # fmt: skip
    heap = json.loads(out.stdout.strip().splitlines()[-1])
    # ≈ 180,000 objects of FastAPI, pydantic, SQLAlchemy and the catalog: a full
    # collection walked them all (≈ 110 ms here); now it walks what came after start-up.
    assert heap["frozen"] > 50_000
    assert heap["tracked"] < heap["frozen"] // 10
