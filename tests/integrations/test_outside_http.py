"""Outside calls share one TLS context instead of loading the CA bundle per call."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dichvucong.integrations import http as outside


class _Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_calls_reuse_one_tls_context(echo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    outside.tls_context.cache_clear()
    built: list[ssl.SSLContext] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        built.append(self)  # loading the CA bundle is the 23 ms part
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)

    async def async_calls() -> list[int]:
        answers = []
        for _ in range(3):
            async with outside.async_client(timeout=5) as http:
                answers.append((await http.post(echo_url, json={"n": 1})).status_code)
        return answers

    answers = [outside.post(echo_url, json={"n": i}, timeout=5).status_code for i in range(3)]
    answers += asyncio.run(async_calls())
    assert answers == [200] * 6
    assert len(built) == 1
    assert built[0] is outside.tls_context()
