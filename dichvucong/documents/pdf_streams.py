"""The streams of a PDF, decoded, for the active-content check in ``media``.

A PDF can hide its objects (a ``/JavaScript`` action, say) inside a compressed
object stream, behind any standard filter or chain of filters. This module walks
the file's objects the way a reader does, finds every stream with its dictionary,
and decodes it through its filter chain (Flate, LZW with their predictors,
ASCIIHex, ASCII85, RunLength), within a total budget of decoded bytes.

It fails closed: a stream whose dictionary cannot be read, whose filter chain
cannot be decoded, or that would decode past the budget raises ``Undecodable``.
The one exception is image data behind an image-only filter (DCT, JPX, CCITT
fax, JBIG2: scanned pages), which no reader ever parses as PDF objects.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# Bound what decoding may produce: a "zip bomb" inside a PDF is refused, not expanded.
MAX_DECODED_BYTES = 64 * 1024 * 1024
# Predictors are undone byte by byte in Python: bounded separately (PDFs use them
# for cross-reference streams, a few hundred kilobytes at most).
MAX_PREDICTED_BYTES = 8 * 1024 * 1024
_MAX_DEPTH = 64

_WS = rb"\x00\t\n\x0c\r "
_DELIMS = rb"()<>\[\]{}/%"
_WSC = rb"(?:[" + _WS + rb"]|%[^\r\n]*)"  # white space or a comment, between tokens
_SKIP = re.compile(_WSC + rb"*")
_REGULAR = re.compile(rb"[^" + _WS + _DELIMS + rb"]*")
_NOT_REGULAR = rb"(?![^" + _WS + _DELIMS + rb"])"  # a keyword ends here
# "1 0 obj"; readers also take comments between the tokens and "1 0obj".
_OBJ_HEADER = re.compile(
    rb"(?<![0-9])([0-9]{1,10})" + _WSC + rb"+([0-9]{1,5})" + _WSC + rb"*obj" + _NOT_REGULAR
)
# Headers are looked for before each "obj" (bytes.find), not by the pattern at every
# byte: that ran at ~100 MB/s, 2.3 ms for a 200 KB upload. A header whose tokens and
# comments span more than this window is not seen as one; its stream then fails the
# check that every stream was read (fail closed).
_HEADER_WINDOW = 4096
# The "stream" keyword after a stream's dictionary, then the end of its line.
_STREAM_KEYWORD = re.compile(_WSC + rb"*stream" + _NOT_REGULAR)
_STREAM_EOL = re.compile(rb"[ \t]*(?:\r\n|\n|\r)")
# Every place a reader could start a stream, wherever it is in the file.
_ANY_STREAM = re.compile(rb">>" + _WSC + rb"*stream" + _NOT_REGULAR)
_INT_OBJECT = re.compile(
    rb"(?<![0-9])([0-9]{1,10})"
    + _WSC
    + rb"+([0-9]{1,5})"
    + _WSC
    + rb"*obj"
    + _WSC
    + rb"*([0-9]{1,12})"
    + _WSC
    + rb"*endobj"
)
_STRING_CHARS = re.compile(rb"[()\\]")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_NUMBER = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_HEX_DIGITS = re.compile(rb"[^0-9A-Fa-f]")
_WHITE = re.compile(rb"[" + _WS + rb"]")
_BLANKS = b"\x00\t\n\x0c\r "

IMAGE_ONLY_FILTERS = frozenset({b"DCTDecode", b"JPXDecode", b"CCITTFaxDecode", b"JBIG2Decode"})
# Short names readers accept for streams too, not only for inline images.
_ABBREVIATIONS = {
    b"AHx": b"ASCIIHexDecode",
    b"A85": b"ASCII85Decode",
    b"LZW": b"LZWDecode",
    b"Fl": b"FlateDecode",
    b"RL": b"RunLengthDecode",
    b"CCF": b"CCITTFaxDecode",
    b"DCT": b"DCTDecode",
}
# Keys that decide how a stream is decoded: one value each, or the reader and this
# check might not pick the same one.
_DECIDING_KEYS = frozenset(
    {b"Filter", b"F", b"DecodeParms", b"DP", b"Length", b"Type", b"Subtype", b"N", b"First"}
)


class Undecodable(ValueError):
    """A stream this check cannot see into, so the file is refused."""


class Name(bytes):
    """A PDF name (``/Foo``), escapes undone; plain ``bytes`` are strings."""


@dataclass(frozen=True)
class Ref:
    number: int
    generation: int


_UNKNOWN: dict[bytes, Any] = {}  # DecodeParms given indirectly: not resolved


# ------------------------------------------------------------------ objects


class _Parser:
    """Reads one PDF object from ``data`` at ``pos`` (enough of the syntax for
    stream dictionaries; anything else is ``Undecodable``)."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def skip(self) -> None:
        self.pos = _SKIP.match(self.data, self.pos).end()  # type: ignore[union-attr]

    def value(self, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise Undecodable("nesting too deep")
        self.skip()
        data, pos = self.data, self.pos
        if data.startswith(b"<<", pos):
            self.pos += 2
            return self._dict(depth)
        head = data[pos : pos + 1]
        if head == b"[":
            self.pos += 1
            return self._array(depth)
        if head == b"(":
            return self._literal_string()
        if head == b"<":
            end = data.find(b">", pos)
            if end < 0:
                raise Undecodable("unterminated hex string")
            self.pos = end + 1
            return b""
        if head == b"/":
            token = _REGULAR.match(data, pos + 1).group()  # type: ignore[union-attr]
            self.pos = pos + 1 + len(token)
            return Name(_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), token))
        if depth == 0 and data.startswith(b"endobj", pos):
            return None  # "1 0 obj endobj": an empty object, null to readers
        return self._keyword_or_number()

    def _dict(self, depth: int) -> dict[bytes, Any]:
        entries: dict[bytes, Any] = {}
        while True:
            self.skip()
            if self.data.startswith(b">>", self.pos):
                self.pos += 2
                return entries
            key = self.value(depth + 1)
            if not isinstance(key, Name):
                raise Undecodable("dictionary key is not a name")
            if key in entries and key in _DECIDING_KEYS:
                raise Undecodable(f"/{key.decode('latin-1')} given twice")
            entries[bytes(key)] = self.value(depth + 1)

    def _array(self, depth: int) -> list[Any]:
        items: list[Any] = []
        while True:
            self.skip()
            if self.data.startswith(b"]", self.pos):
                self.pos += 1
                return items
            items.append(self.value(depth + 1))

    def _literal_string(self) -> bytes:
        nesting, pos = 0, self.pos
        while (match := _STRING_CHARS.search(self.data, pos)) is not None:
            char, pos = match.group(), match.end()
            if char == b"\\":
                pos += 1  # the escaped character, whatever it is
            elif char == b"(":
                nesting += 1
            else:
                nesting -= 1
                if nesting == 0:
                    self.pos = pos
                    return b""
        raise Undecodable("unterminated string")

    def _keyword_or_number(self) -> Any:
        token = _REGULAR.match(self.data, self.pos).group()  # type: ignore[union-attr]
        if not token:
            raise Undecodable("unexpected delimiter")
        self.pos += len(token)
        if token in (b"true", b"false"):
            return token == b"true"
        if token == b"null":
            return None
        if _NUMBER.fullmatch(token) is None:
            raise Undecodable("unexpected keyword")
        if token.isdigit():
            return self._maybe_ref(int(token))
        return float(token)

    def _maybe_ref(self, number: int) -> int | Ref:
        """``N G R`` is a reference; otherwise ``N`` was just an integer."""
        after = self.pos
        self.skip()
        generation = _REGULAR.match(self.data, self.pos).group()  # type: ignore[union-attr]
        if generation.isdigit():
            self.pos += len(generation)
            self.skip()
            if _REGULAR.match(self.data, self.pos).group() == b"R":  # type: ignore[union-attr]
                self.pos += 1
                return Ref(number, int(generation))
        self.pos = after
        return number


# ------------------------------------------------------------------ filters


class _Budget:
    def __init__(self, total: int) -> None:
        self.left = total

    def spend(self, produced: int) -> None:
        self.left -= produced
        if self.left < 0:
            raise Undecodable("decodes to too much data")


def _inflate(data: bytes, limit: int) -> bytes:
    # The zlib header is checked by hand and the Adler-32 trailer ignored, as readers
    # do; a stream without the header is tried as raw deflate.
    has_header = len(data) >= 2 and data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(data[2:] if has_header else data, limit + 1)
    except zlib.error as exc:
        raise Undecodable(f"FlateDecode: {exc}") from exc
    if len(out) > limit:
        raise Undecodable("decodes to too much data")
    if not inflater.eof:
        raise Undecodable("FlateDecode: truncated")
    return out


def _ascii_hex(data: bytes, limit: int) -> bytes:
    end = data.find(b">")
    # Readers skip anything that is not a hex digit; so does this, to see what they see.
    digits = _HEX_DIGITS.sub(b"", data if end < 0 else data[:end])
    if len(digits) % 2:
        digits += b"0"
    return bytes.fromhex(digits.decode("ascii"))


def _ascii85(data: bytes, limit: int) -> bytes:
    text = _WHITE.sub(b"", data)
    end = text.find(b"~>")
    text = text if end < 0 else text[:end]
    text = text.removeprefix(b"<~")
    try:
        return base64.a85decode(text)
    except ValueError as exc:
        raise Undecodable(f"ASCII85Decode: {exc}") from exc


def _run_length(data: bytes, limit: int) -> bytes:
    out = bytearray()
    pos = 0
    while pos < len(data) and data[pos] != 128:
        length = data[pos]
        if length < 128:
            out += data[pos + 1 : pos + 2 + length]
            pos += 2 + length
        else:
            out += data[pos + 1 : pos + 2] * (257 - length)
            pos += 2
        if len(out) > limit:
            raise Undecodable("decodes to too much data")
    return bytes(out)


def _lzw(data: bytes, limit: int, early_change: int = 1) -> bytes:
    """LZW as PDF writes it: codes of 9 to 12 bits, most significant bit first,
    256 clears the table, 257 ends the data."""
    out = bytearray()
    table: list[bytes] = []
    width, previous = 9, b""
    buffer = bits = 0

    def reset() -> None:
        table[:] = [bytes([i]) for i in range(256)] + [b"", b""]

    reset()
    for byte in data:
        buffer, bits = (buffer << 8) | byte, bits + 8
        while bits >= width:
            bits -= width
            code = (buffer >> bits) & ((1 << width) - 1)
            buffer &= (1 << bits) - 1
            if code == 256:
                reset()
                width, previous = 9, b""
                continue
            if code == 257:
                return bytes(out)
            if code < len(table) and (previous or code < 256):
                entry = table[code]
            elif code == len(table) and previous:
                entry = previous + previous[:1]
            else:
                raise Undecodable("LZWDecode: bad code")
            if previous and len(table) < 4096:
                table.append(previous + entry[:1])
            out += entry
            if len(out) > limit:
                raise Undecodable("decodes to too much data")
            previous = entry
            if len(table) + early_change >= 1 << width and width < 12:
                width += 1
    return bytes(out)


_Decoder = Callable[[bytes, int], bytes]
_DECODERS: dict[bytes, _Decoder] = {
    b"FlateDecode": _inflate,
    b"ASCIIHexDecode": _ascii_hex,
    b"ASCII85Decode": _ascii85,
    b"RunLengthDecode": _run_length,
}
_PREDICTED = frozenset({b"FlateDecode", b"LZWDecode"})


def _int_param(parms: dict[bytes, Any], key: bytes, default: int, low: int, high: int) -> int:
    value = parms.get(key, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise Undecodable(f"/{key.decode()} {value!r}")
    return value


def _unpredict(data: bytes, parms: dict[bytes, Any]) -> bytes:
    """Undo a TIFF or PNG predictor (cross-reference streams use them; so could an
    object stream, where each row's filter byte would split the names)."""
    if parms is _UNKNOWN:
        raise Undecodable("DecodeParms given indirectly")
    predictor = _int_param(parms, b"Predictor", 1, 0, 15)
    if predictor <= 1:
        return data
    if len(data) > MAX_PREDICTED_BYTES:
        raise Undecodable("too much predicted data")
    colors = _int_param(parms, b"Colors", 1, 1, 32)
    bits = _int_param(parms, b"BitsPerComponent", 8, 1, 16)
    columns = _int_param(parms, b"Columns", 1, 1, 1 << 24)
    row_bytes = (colors * bits * columns + 7) // 8
    if predictor == 2 and bits == 8:
        return _undo_tiff(data, row_bytes, colors)
    if predictor >= 10:
        return _undo_png(data, row_bytes, max(1, colors * bits // 8))
    raise Undecodable(f"Predictor {predictor}")


def _undo_tiff(data: bytes, row_bytes: int, stride: int) -> bytes:
    out = bytearray(data)
    for start in range(0, len(out), row_bytes):
        for i in range(start + stride, min(start + row_bytes, len(out))):
            out[i] = (out[i] + out[i - stride]) & 0xFF
    return bytes(out)


def _undo_png(data: bytes, row_bytes: int, bpp: int) -> bytes:
    out = bytearray()
    previous = bytes(row_bytes)
    for start in range(0, len(data), row_bytes + 1):
        kind, row = data[start], bytearray(data[start + 1 : start + 1 + row_bytes])
        if kind == 2:
            row = bytearray((a + b) & 0xFF for a, b in zip(row, previous, strict=False))
        elif kind in (1, 3, 4):
            _undo_png_row(kind, row, previous, bpp)
        elif kind != 0:
            raise Undecodable(f"PNG predictor row type {kind}")
        out += row
        previous = bytes(row)
    return bytes(out)


def _undo_png_row(kind: int, row: bytearray, above: bytes, bpp: int) -> None:
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        up = above[i]
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + ((left + up) >> 1)) & 0xFF
        else:
            corner = above[i - bpp] if i >= bpp else 0
            guess = left + up - corner
            pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
            nearest = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            row[i] = (row[i] + nearest) & 0xFF


# ------------------------------------------------------------------ streams


def _filter_chain(header: dict[bytes, Any]) -> list[tuple[bytes, dict[bytes, Any]]]:
    # Readers take /F for /Filter and /DP for /DecodeParms when the long key is absent.
    filters = header.get(
        b"Filter", header.get(b"F") if isinstance(header.get(b"F"), (Name, list)) else None
    )
    parms = header.get(b"DecodeParms", header.get(b"DP"))
    if filters is None:
        return []
    names = filters if isinstance(filters, list) else [filters]
    if not all(isinstance(name, Name) for name in names):
        raise Undecodable("filter given indirectly")
    each = parms if isinstance(parms, list) else [parms] * len(names)
    chain = []
    for i, name in enumerate(names):
        parm = each[i] if i < len(each) else None
        parm = {} if parm is None else parm if isinstance(parm, dict) else _UNKNOWN
        chain.append((_ABBREVIATIONS.get(name, bytes(name)), parm))
    return chain


def _is_image(header: dict[bytes, Any]) -> bool:
    """An image XObject, and nothing a reader could also take for an object stream."""
    return (
        header.get(b"Subtype") == b"Image"
        and header.get(b"Type") not in (b"ObjStm", b"XRef")
        and b"N" not in header
        and b"First" not in header
    )


def decode_stream(body: bytes, header: dict[bytes, Any], budget: _Budget) -> bytes:
    """The stream's data through its filter chain; image data behind an image-only
    filter is returned as far as it could be decoded."""
    image = _is_image(header)
    chain = _filter_chain(header)
    for i, (name, parms) in enumerate(chain):
        if name in IMAGE_ONLY_FILTERS and image and i == len(chain) - 1:
            return body
        if name == b"LZWDecode":
            early = 1 if parms is _UNKNOWN else _int_param(parms, b"EarlyChange", 1, 0, 1)
            body = _lzw(body, budget.left, early)
        elif name in _DECODERS:
            body = _DECODERS[name](body, budget.left)
        else:
            raise Undecodable(f"filter /{name.decode('latin-1')}")
        budget.spend(len(body))
        if name in _PREDICTED and not image:  # image rows are pixels, never parsed
            body = _unpredict(body, parms)
    return body


class _File:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self._integers: dict[Ref, int] | None = None

    def length(self, value: Any) -> int | None:
        """A stream's /Length, following a reference to an integer object."""
        if isinstance(value, Ref):
            if self._integers is None:
                self._integers = {
                    Ref(int(m.group(1)), int(m.group(2))): int(m.group(3))
                    for m in _INT_OBJECT.finditer(self.data)
                }
            value = self._integers.get(value)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def body(self, start: int, header: dict[bytes, Any]) -> tuple[bytes, int]:
        """The stream's data from ``start`` up to the first ``endstream`` (an end of
        line is expected before it, not required), and the offset just past it.
        /Length only says how much of the white space before ``endstream`` is data:
        a stream whose data held ``endstream`` is refused by ``iter_streams``, so a
        /Length this check and a reader resolve differently cannot hide anything."""
        data = self.data
        end_keyword = data.find(b"endstream", start)
        if end_keyword < 0:  # unterminated: a reader would take the rest of the file
            return data[start:], len(data)
        stop = end_keyword
        length = self.length(header.get(b"Length"))
        if (
            length is not None
            and start + length <= stop
            and not data[start + length : stop].strip(_BLANKS)
        ):
            stop = start + length
        elif data[start:stop].endswith(b"\r\n"):
            stop -= 2
        elif data[start:stop].endswith((b"\n", b"\r")):
            stop -= 1
        return data[start:stop], end_keyword + len(b"endstream")


def _next_header(data: bytes, cursor: int) -> re.Match[bytes] | None:
    """The first object header ("1 0 obj") at or after ``cursor``."""
    while (at := data.find(b"obj", cursor)) >= 0:
        # Up to the byte after "obj": the pattern checks that the keyword ends there.
        found = _OBJ_HEADER.search(data, max(cursor, at - _HEADER_WINDOW), at + 4)
        if found is not None:
            return found
        cursor = at + 3
    return None


def iter_streams(data: bytes) -> Iterator[tuple[dict[bytes, Any], bytes]]:
    """Each stream of the file (dictionary, raw data), object by object as a reader
    finds them. ``Undecodable`` unless every ``>> stream`` and every ``endstream``
    anywhere in the file (in a string, in another stream's data, between objects)
    is the start or the end of a stream this walk read: a stream the walk did not
    see could hold anything."""
    pdf = _File(data)
    starts: set[int] = set()
    ends: set[int] = set()
    cursor = 0
    while (header := _next_header(data, cursor)) is not None:
        parser = _Parser(data, header.end())
        value = parser.value()
        cursor = parser.pos
        keyword = _STREAM_KEYWORD.match(data, cursor) if isinstance(value, dict) else None
        if keyword is None:
            continue
        eol = _STREAM_EOL.match(data, keyword.end())
        if eol is None:  # readers differ on where such data starts
            raise Undecodable("no end of line after stream")
        starts.add(cursor - 2)
        body, cursor = pdf.body(eol.end(), value)
        ends.add(cursor - len(b"endstream"))
        yield value, body
    if any(m.start() not in starts for m in _ANY_STREAM.finditer(data)):
        raise Undecodable("stream outside any readable object")
    if any(m.start() not in ends for m in re.finditer(rb"endstream", data)):
        raise Undecodable("endstream outside any stream read")


def decoded_streams(data: bytes, budget: int = MAX_DECODED_BYTES) -> Iterator[bytes]:
    """The decoded data of each stream of the file, within ``budget`` bytes in all."""
    spent = _Budget(budget)
    for header, body in iter_streams(data):
        yield decode_stream(body, header, spent)
