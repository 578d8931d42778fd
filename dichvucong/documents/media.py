"""Media type from the content's first bytes (magic numbers), never from the
file name or the browser's Content-Type."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from dichvucong.documents.pdf_streams import MAX_DECODED_BYTES, Undecodable, decoded_streams

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


class EmptyDocument(UnsupportedMediaType):
    """No content at all: said as such, not as a file of the wrong kind."""

    def __init__(self, detail: str = "Tệp rỗng.") -> None:
        super().__init__(detail)


def sniff_media_type(head: bytes, allowed: Iterable[str] = DEFAULT_ALLOWED) -> str:
    """The media type of content starting with ``head`` (at least ``SNIFF_BYTES``
    bytes when the content is that long), or ``UnsupportedMediaType``."""
    accepted = frozenset(allowed)
    for magic, media_type in MAGIC:
        if head.startswith(magic) and media_type in accepted:
            return media_type
    raise UnsupportedMediaType()


# --------------------------------------------------------------- active content

# PDF names that run code or carry other files. "/OpenAction" alone (open at a page)
# is harmless; an OpenAction that runs JavaScript names /JS or /JavaScript.
FORBIDDEN_PDF_NAMES = frozenset(
    {b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles"}
)
_PDF_NAME = re.compile(rb"/([^\s/<>\[\]()%{}]{1,127})")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_CARRY = 384  # longer than any name the pattern matches, escapes included


class UnsafeDocument(UnsupportedMediaType):
    """Content of an accepted type that the portal still refuses (active content,
    decompression bombs, undecodable images)."""


PDF_ACTIVE = "Tệp PDF chứa mã lệnh hoặc tệp đính kèm ẩn (JavaScript, Launch, EmbeddedFile) nên không được chấp nhận. Vui lòng in lại ra PDF thường hoặc scan lại."
PDF_UNCHECKABLE = "Không kiểm tra được nội dung tệp PDF (tệp được mã hóa, nén theo cách không hỗ trợ, quá lớn khi giải nén hoặc bị hỏng) nên không được chấp nhận. Vui lòng in lại ra PDF thường hoặc scan lại."
IMAGE_TOO_BIG = "Ảnh có kích thước quá lớn ({mp} megapixel, tối đa {limit}). Vui lòng giảm độ phân giải rồi tải lại."
IMAGE_BROKEN = "Không đọc được ảnh (tệp hỏng hoặc không đúng định dạng JPEG/PNG)."


def _unescape(name: bytes) -> bytes:
    return _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), name)


class PdfActiveContentScanner:
    """Finds forbidden PDF names in a byte stream fed chunk by chunk; a name split
    across two chunks is still found (the tail of each chunk is carried over), and
    ``#xx`` escapes inside names (``/J#61vaScript``) are undone."""

    def __init__(self) -> None:
        self._carry = b""
        self.found: str | None = None

    def feed(self, chunk: bytes) -> None:
        if self.found is not None or not chunk:
            return
        data = self._carry + chunk
        for match in _PDF_NAME.finditer(data):
            if match.end() == len(data):
                break  # may continue in the next chunk: checked again with it
            name = _unescape(match.group(1))
            if name in FORBIDDEN_PDF_NAMES:
                self.found = name.decode("ascii", "replace")
                return
        self._carry = data[-_CARRY:]

    def close(self) -> None:
        """End of the stream: a name at the very end is complete now."""
        match = None
        for match in _PDF_NAME.finditer(self._carry):  # noqa: B007
            pass
        if match is not None and match.end() == len(self._carry):
            name = _unescape(match.group(1))
            if name in FORBIDDEN_PDF_NAMES and self.found is None:
                self.found = name.decode("ascii", "replace")


def check_image(
    path: str | os.PathLike[str], media_type: str, max_pixels: int, *, strict: bool = False
) -> None:
    """Decode a stored JPEG or PNG under a pixel limit; ``UnsafeDocument`` if it is
    too large (decompression bombs) or, once identified, cannot be decoded. Content
    Pillow cannot identify at all passes unless ``strict`` (it is only ever served
    back as a download with its sniffed type and ``nosniff``)."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                expected = {JPEG: "JPEG", PNG: "PNG"}[media_type]
                if image.format != expected:
                    raise UnsafeDocument(IMAGE_BROKEN)
                pixels = image.width * image.height
                if pixels > max_pixels:
                    raise UnsafeDocument(
                        IMAGE_TOO_BIG.format(mp=round(pixels / 1e6), limit=round(max_pixels / 1e6))
                    )
                if media_type == JPEG:
                    image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()
    except UnsafeDocument:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnsafeDocument(IMAGE_TOO_BIG.format(mp="?", limit=round(max_pixels / 1e6))) from exc
    except Image.UnidentifiedImageError as exc:
        if strict:
            raise UnsafeDocument(IMAGE_BROKEN) from exc
    except (OSError, ValueError, SyntaxError) as exc:  # what Pillow raises on broken files
        raise UnsafeDocument(IMAGE_BROKEN) from exc


# Bound what decoding may produce: a "zip bomb" inside a PDF is refused, not expanded.
MAX_INFLATED_BYTES = MAX_DECODED_BYTES


def _forbidden_name(data: bytes) -> str | None:
    scanner = PdfActiveContentScanner()
    scanner.feed(data)
    scanner.close()
    return scanner.found


def check_pdf_streams(path: str | os.PathLike[str]) -> None:
    """Active content hidden in encoded streams (object streams behind /FlateDecode,
    /ASCIIHexDecode, /ASCII85Decode, /LZWDecode, /RunLengthDecode or a chain of
    them): decode each one (bounded) and look for the forbidden names there too.
    ``UnsafeDocument`` with ``PDF_ACTIVE`` when one is found, with
    ``PDF_UNCHECKABLE`` when a stream cannot be decoded (fail closed; image data
    behind an image-only filter such as /DCTDecode is the one exception)."""
    try:
        for decoded in decoded_streams(Path(path).read_bytes(), MAX_INFLATED_BYTES):
            if _forbidden_name(decoded):
                raise UnsafeDocument(PDF_ACTIVE)
    except Undecodable as exc:
        raise UnsafeDocument(PDF_UNCHECKABLE) from exc


def scan_pdf_streams(path: str | os.PathLike[str]) -> str | None:
    """``check_pdf_streams`` as a value: the refusal's reason, or ``None``."""
    try:
        check_pdf_streams(path)
    except UnsafeDocument as refused:
        return str(refused)
    return None
