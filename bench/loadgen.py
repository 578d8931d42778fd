"""A lean HTTP/1.1 client for figure 3's open-loop load.

httpx costs about a millisecond of Python per request; at 200 requests/s on a 2-core
box that is CPU taken from the server being measured, and event-loop delay added to
every latency the generator records. This client only writes a GET and reads a
``Content-Length`` answer over pooled keep-alive connections (like wrk or oha would).
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

# uvicorn closes a keep-alive connection after 5 idle seconds; never reuse one that old.
MAX_IDLE_SECONDS = 4.0
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class LeanClient:
    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._idle: list[tuple[float, Connection]] = []

    async def get(self, target: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """``target`` is the path with its query string, already encoded. A pooled
        connection the server closed meanwhile is retried once on a new one, as
        browsers do for idempotent requests."""
        conn, reused = self._take()
        if conn is None:
            conn = await asyncio.open_connection(self.host, self.port)
        try:
            return await self._exchange(conn, target, headers)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            if not reused or getattr(exc, "partial", b""):
                raise
        conn = await asyncio.open_connection(self.host, self.port)
        return await self._exchange(conn, target, headers)

    def _take(self) -> tuple[Connection | None, bool]:
        now = time.monotonic()
        while self._idle:
            since, conn = self._idle.pop()
            if now - since < MAX_IDLE_SECONDS:
                return conn, True
            conn[1].close()
        return None, False

    async def _exchange(
        self, conn: Connection, target: str, headers: dict[str, str] | None
    ) -> tuple[int, bytes]:
        reader, writer = conn
        lines = [f"GET {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            status = int(status_line.split(" ", 2)[1])
            fields = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    fields[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(fields["content-length"]))
        except BaseException:
            writer.close()
            raise
        if fields.get("connection", "").lower() == "close":
            writer.close()
        else:
            self._idle.append((time.monotonic(), conn))
        return status, body

    async def aclose(self) -> None:
        for _, (_, writer) in self._idle:
            writer.close()
        self._idle.clear()
