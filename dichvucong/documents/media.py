"""Media type from the content's first bytes (magic numbers), never from the
file name or the browser's Content-Type."""

from __future__ import annotations

from collections.abc import Iterable

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"

MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
)
SNIFF_BYTES = max(len(m) for m, _ in MAGIC)
DEFAULT_ALLOWED = frozenset({PDF, JPEG, PNG})


class UnsupportedMediaType(ValueError):
    """The content is none of the accepted kinds."""

    def __init__(self, detail: str = "Chỉ chấp nhận tệp PDF, JPEG hoặc PNG.") -> None:
        super().__init__(detail)


def sniff_media_type(head: bytes, allowed: Iterable[str] = DEFAULT_ALLOWED) -> str:
    """The media type of content starting with ``head`` (at least ``SNIFF_BYTES``
    bytes when the content is that long), or ``UnsupportedMediaType``."""
    accepted = frozenset(allowed)
    for magic, media_type in MAGIC:
        if head.startswith(magic) and media_type in accepted:
            return media_type
    raise UnsupportedMediaType()
