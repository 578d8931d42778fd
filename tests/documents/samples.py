"""What both document stores (local and S3) are fed in their tests, and the checks
that read the same for both."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import Any

PDF = b"%PDF-1.7\n" + b"x" * 200_000 + b"\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 5000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def check_file_like_sources_and_tiny_chunks(store: Any) -> None:
    assert store.put_stream(io.BytesIO(JPEG)).media_type == "image/jpeg"
    assert store.put_stream(chunks(PNG, size=1)).media_type == "image/png"


async def check_async_sources(store: Any) -> None:
    async def gen() -> object:
        for chunk in chunks(PDF):
            yield chunk

    ref = await store.aput_stream(gen())
    assert ref.sha256 == hashlib.sha256(PDF).hexdigest()

    class Upload:  # the shape of FastAPI's UploadFile
        def __init__(self, data: bytes) -> None:
            self._io = io.BytesIO(data)

        async def read(self, n: int = -1) -> bytes:
            return self._io.read(n)

    assert (await store.aput_stream(Upload(JPEG))).media_type == "image/jpeg"
