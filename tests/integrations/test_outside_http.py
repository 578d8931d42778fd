"""Outside calls: one TLS context, pooled connections (per process for the activity
threads, per event loop for the API), no cookies carried from one party to another."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dichvucong.integrations import http as outside


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the gateways and the national portal
    peers: set[tuple[str, int]] = set()

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.peers.add(self.client_address)  # one per TCP connection
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", f"session={self.client_address[1]}; Path=/")
        self.send_header("X-Cookie-Seen", self.headers.get("Cookie", ""))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_url() -> Iterator[str]:
    _Echo.peers = set()
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
    outside.shared_client.cache_clear()
    built: list[ssl.SSLContext] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        built.append(self)  # loading the CA bundle is the 23 ms part
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)

    async def async_calls() -> list[int]:
        return [(await outside.apost(echo_url, json={"n": 1}, timeout=5)).status_code
                for _ in range(3)]  # fmt: skip

    answers = [outside.post(echo_url, json={"n": i}, timeout=5).status_code for i in range(3)]
    answers += asyncio.run(async_calls())
    assert answers == [200] * 6
    assert len(built) == 1
    assert built[0] is outside.tls_context()


def test_synchronous_calls_keep_their_connection_across_threads(echo_url: str) -> None:
    outside.post(echo_url, json={"warm": True}, timeout=5)
    with ThreadPoolExecutor(max_workers=4) as threads:
        bodies = list(threads.map(
            lambda i: outside.post(echo_url, json={"n": i}, timeout=5).json(), range(40)
        ))  # fmt: skip
    assert bodies == [{"n": i} for i in range(40)]  # each answer to its own request
    # Forty calls from four threads on at most four connections, not forty.
    assert len(_Echo.peers) <= 5


def test_each_event_loop_has_its_own_pooled_client(echo_url: str) -> None:
    async def calls() -> tuple[object, int]:
        for i in range(5):
            assert (await outside.apost(echo_url, json={"n": i}, timeout=5)).json() == {"n": i}
        return outside.shared_async_client(), len(_Echo.peers)

    first, connections = asyncio.run(calls())
    assert connections == 1  # five calls, one connection
    second, _ = asyncio.run(calls())
    assert second is not first  # a client never outlives the loop it belongs to


def test_no_cookie_goes_back_to_any_party(echo_url: str) -> None:
    first = outside.post(echo_url, json={}, timeout=5)
    assert "set-cookie" in first.headers
    again = outside.post(echo_url, json={}, timeout=5)
    assert again.headers["x-cookie-seen"] == ""
    assert not outside.shared_client().cookies


class _HangsUpOnReuse(BaseHTTPRequestHandler):
    """Answers the first request of each connection and hangs up on the second without
    an answer, as a server does whose keep-alive timer ran out as the request came."""

    protocol_version = "HTTP/1.1"
    answered = 0

    def handle(self) -> None:
        self.served_here = 0
        super().handle()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.served_here += 1
        if self.served_here > 1:
            self.close_connection = True
            return  # closes without a status line
        type(self).answered += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_a_connection_closed_on_reuse_is_retried_once_on_a_fresh_one() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HangsUpOnReuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"

    async def twice() -> list[int]:
        return [(await outside.apost(url, json={}, timeout=5)).status_code for _ in range(2)]

    try:
        assert [outside.post(url, json={}, timeout=5).status_code for _ in range(2)] == [200, 200]
        assert asyncio.run(twice()) == [200, 200]
        assert _HangsUpOnReuse.answered == 4  # each second call on a new connection
    finally:
        server.shutdown()
        server.server_close()
