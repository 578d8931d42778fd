"""A lean HTTP/1.1 client for the bench's load (figures 1–3).

httpx costs about a millisecond of Python per request; on a 2-core box the load
generator shares the cores with the stack it measures, so that millisecond is CPU
taken from the server, and event-loop delay added to every latency recorded. This
client writes a request and reads a ``Content-Length`` (or chunked) answer over pooled
keep-alive connections, like wrk or oha would: GET, and POST with a JSON, form or
multipart body.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

# uvicorn closes a keep-alive connection after 5 idle seconds; never reuse one that old.
MAX_IDLE_SECONDS = 4.0
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
# A file part: (field name, (file name, content, media type)).
FilePart = tuple[str, tuple[str, bytes, str]]


@dataclass(frozen=True)
class Answer:
    status_code: int
    content: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


def multipart(data: dict[str, str], files: list[FilePart]) -> tuple[str, bytes]:
    """The content type and body of a ``multipart/form-data`` request."""
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, value in data.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                ).encode() + value.encode() + b"\r\n"  # fmt: skip
    for name, (filename, content, media_type) in files:
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {media_type}\r\n\r\n').encode()  # fmt: skip
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", bytes(out)


class LeanClient:
    def __init__(self, base_url: str, timeout: float = 60) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self._idle: list[tuple[float, Connection]] = []

    async def get(self, target: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """``target`` is the path with its query string, already encoded."""
        answer = await self.request("GET", target, headers)
        return answer.status_code, answer.content

    async def post(
        self,
        target: str,
        *,
        json: Any = None,
        data: dict[str, str] | None = None,
        files: list[FilePart] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """A POST with a JSON body, a form (``data``) or a multipart form (``files``);
        ``target`` may be an absolute URL on this host (a redirect or payment URL)."""
        if files:
            content_type, body = multipart(data or {}, files)
        elif data is not None:
            content_type, body = "application/x-www-form-urlencoded", urlencode(data).encode()
        elif json is not None:
            content_type, body = "application/json", jsonlib.dumps(json).encode()
        else:
            content_type, body = None, b""
        head = dict(headers or {})
        if content_type:
            head["Content-Type"] = content_type
        return await self.request("POST", target, head, body)

    async def request(
        self, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Answer:
        """A pooled connection the server closed meanwhile is retried once on a new one,
        as browsers do (the request never reached the application)."""
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        async with asyncio.timeout(self.timeout):
            return await self._send(method, target, headers, body)

    async def _send(
        self, method: str, target: str, headers: dict[str, str] | None, body: bytes
    ) -> Answer:
        conn, reused = self._take()
        if conn is None:
            conn = await asyncio.open_connection(self.host, self.port)
        try:
            return await self._exchange(conn, method, target, headers, body)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            if not reused or getattr(exc, "partial", b""):
                raise
        conn = await asyncio.open_connection(self.host, self.port)
        return await self._exchange(conn, method, target, headers, body)

    def _take(self) -> tuple[Connection | None, bool]:
        now = time.monotonic()
        while self._idle:
            since, conn = self._idle.pop()
            if now - since < MAX_IDLE_SECONDS:
                return conn, True
            conn[1].close()
        return None, False

    async def _exchange(
        self,
        conn: Connection,
        method: str,
        target: str,
        headers: dict[str, str] | None,
        body: bytes,
    ) -> Answer:
        reader, writer = conn
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body)
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            status = int(status_line.split(" ", 2)[1])
            fields = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    fields[name.strip().lower()] = value.strip()
            if fields.get("transfer-encoding", "").lower() == "chunked":
                content = await _read_chunked(reader)
            else:
                content = await reader.readexactly(int(fields.get("content-length", "0")))
        except BaseException:
            writer.close()
            raise
        if fields.get("connection", "").lower() == "close":
            writer.close()
        else:
            self._idle.append((time.monotonic(), conn))
        return Answer(status, content, fields)

    async def aclose(self) -> None:
        for _, (_, writer) in self._idle:
            writer.close()
        self._idle.clear()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers are sent to us
            return bytes(out)
        out += await reader.readexactly(size)
        await reader.readexactly(2)
