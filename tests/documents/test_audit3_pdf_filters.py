"""Active content is found behind every standard PDF filter, not only Flate, and a
stream that cannot be decoded is refused rather than waved through (audit: an
/OpenAction running JavaScript inside an /ASCIIHexDecode object stream was
accepted). Scanned-style PDFs (JPEG pages, Flate content) still pass."""

from __future__ import annotations

import base64
import binascii
import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from dichvucong.catalog import load_catalog
from dichvucong.documents.media import PDF_ACTIVE, PDF_UNCHECKABLE, UnsafeDocument
from dichvucong.documents.pdf_streams import Undecodable, decoded_streams
from dichvucong.documents.store import LocalDocumentStore
from dichvucong.official_forms import build_context, render_pdf
from tests.official_forms.test_form_pdfs import BASE, sources

pypdf = pytest.importorskip("pypdf")

CATALOG = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>"
PAGES = b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>"
ACTION = b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"


def hexed(data: bytes) -> bytes:
    return binascii.hexlify(data) + b">"


def a85(data: bytes) -> bytes:
    return base64.a85encode(data, wrapcol=60) + b"~>"


def object_stream_pdf(
    encode: Callable[[bytes], bytes],
    filters: bytes,
    action: bytes = ACTION,
    before: bytes = b"",
) -> bytes:
    """The audit's PDF: catalog, pages, a JavaScript OpenAction and a page, all in
    one object stream encoded by ``encode`` and declared with ``filters``, and a
    cross-reference stream, so pypdf reads it the way a viewer would; ``before``
    goes in front of the object stream."""
    objects = [CATALOG, PAGES, action, PAGE]
    header = body = b""
    for number, obj in enumerate(objects, start=1):
        header += b"%d %d " % (number, len(body))
        body += obj + b" "
    data = encode(header + body)
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n" + before)
    objstm_at = len(out)
    out += (
        b"5 0 obj\n<< /Type /ObjStm /N 4 /First %d /Filter %s /Length %d >>\nstream\n"
        % (len(header), filters, len(data))
        + data
        + b"\nendstream\nendobj\n"
    )
    xref_at = len(out)
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    rows += [struct.pack(">BIH", 2, 5, i) for i in range(len(objects))]
    rows += [struct.pack(">BIH", 1, objstm_at, 0), struct.pack(">BIH", 1, xref_at, 0)]
    table = b"".join(rows)
    out += (
        b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
        % len(table)
        + table
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at
    )
    return bytes(out)


def refused(tmp_path: Path, pdf: bytes) -> str:
    store = LocalDocumentStore(tmp_path / "docs")
    with pytest.raises(UnsafeDocument) as refusal:
        store.put_stream([pdf])
    assert not [p for p in (tmp_path / "docs").rglob("*") if p.is_file()]  # nothing kept
    return str(refusal.value)


def test_the_audits_ascii_hex_object_stream_is_refused(tmp_path: Path) -> None:
    pdf = object_stream_pdf(hexed, b"/ASCIIHexDecode")
    # A viewer does run this script on opening:
    catalog = pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert catalog["/OpenAction"].get_object()["/S"] == "/JavaScript"
    assert refused(tmp_path, pdf) == PDF_ACTIVE


@pytest.mark.parametrize(
    ("encode", "filters"),
    [
        (a85, b"/ASCII85Decode"),
        (lambda d: zlib.compress(hexed(d)), b"[/FlateDecode /ASCIIHexDecode]"),
        (lambda d: hexed(zlib.compress(d)), b"[/AHx /Fl]"),  # abbreviations, a chain
        (lambda d: a85(zlib.compress(hexed(d))), b"[/A85 /FlateDecode /ASCIIHexDecode]"),
        (lambda d: runlength(d), b"/RunLengthDecode"),
        (hexed, b"/ASCII#48exDecode"),  # an escaped filter name
    ],
    ids=["ascii85", "hex-then-flate", "flate-then-hex", "three", "runlength", "escaped-filter"],
)
def test_active_content_behind_other_filters_is_refused(
    tmp_path: Path, encode: Callable[[bytes], bytes], filters: bytes
) -> None:
    assert refused(tmp_path, object_stream_pdf(encode, filters)) == PDF_ACTIVE


def runlength(data: bytes) -> bytes:
    # Literal runs of 2 bytes: the length byte between them splits every name.
    runs = (data[i : i + 2] for i in range(0, len(data), 2))
    return b"".join(bytes([len(run) - 1]) + run for run in runs) + b"\x80"


def test_escaped_names_inside_a_stream_are_found(tmp_path: Path) -> None:
    action = b"<< /S /Java#53cript /J#53 (app.alert\\(1\\)) >>"
    pdf = object_stream_pdf(
        lambda d: hexed(zlib.compress(d)), b"[/ASCIIHexDecode /FlateDecode]", action
    )
    assert refused(tmp_path, pdf) == PDF_ACTIVE


def lzw(data: bytes) -> bytes:
    """LZW with a clear code first, fixed 9-bit codes of literals only (valid as long
    as the table never grows past 511 entries: short data)."""
    codes = [256] + list(data) + [257]
    bits = "".join(f"{code:09b}" for code in codes)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))


def test_lzw_and_predictors_are_undone(tmp_path: Path) -> None:
    assert refused(tmp_path, object_stream_pdf(lzw, b"/LZWDecode")) == PDF_ACTIVE

    def png_up_rows(data: bytes, columns: int = 4) -> bytes:
        # PNG "None" rows: a 0 before every 4 bytes splits "/JavaScript" apart.
        rows = [data[i : i + columns].ljust(columns, b" ") for i in range(0, len(data), columns)]
        return zlib.compress(b"".join(b"\x00" + row for row in rows))

    pdf = object_stream_pdf(
        png_up_rows, b"/FlateDecode /DecodeParms << /Predictor 12 /Columns 4 >>"
    )
    assert b"JavaScript" not in zlib.decompress(pdf.split(b"stream\n")[1].split(b"\nendstream")[0])
    assert refused(tmp_path, pdf) == PDF_ACTIVE


def test_a_stream_without_end_of_line_before_endstream_does_not_hide_the_next(
    tmp_path: Path,
) -> None:
    # Without the end of line, the old pattern ran on from this stream into the
    # next one, the object stream, and never inflated that.
    content = zlib.compress(b"0 0 m 10 10 l S")
    no_eol = b"7 0 obj\n<< /Filter /FlateDecode >>\nstream\n%sendstream\nendobj\n" % content
    pdf = object_stream_pdf(zlib.compress, b"/FlateDecode", before=no_eol)
    assert refused(tmp_path, pdf) == PDF_ACTIVE


@pytest.mark.parametrize(
    "filters",
    [b"/Crypt", b"/DCTDecode", b"/JBIG2Decode", b"/Bogus", b"[/FlateDecode /Bogus]", b"8 0 R"],
)
def test_an_object_stream_that_cannot_be_decoded_is_refused(tmp_path: Path, filters: bytes) -> None:
    # Harmless content (the raw bytes are scanned anyway): refused for being unreadable.
    pdf = object_stream_pdf(lambda d: d, filters, b"<< /S /GoTo >>")
    assert refused(tmp_path, pdf) == PDF_UNCHECKABLE


def test_image_only_filters_do_not_excuse_an_object_stream(tmp_path: Path) -> None:
    # An object stream dressed as an image is still an object stream to a reader.
    pdf = object_stream_pdf(hexed, b"/CCITTFaxDecode /Subtype /Image", b"<< /S /GoTo >>")
    assert refused(tmp_path, pdf) == PDF_UNCHECKABLE


def test_damaged_and_bomb_streams_are_refused(tmp_path: Path) -> None:
    truncated = object_stream_pdf(lambda d: zlib.compress(d)[:-12], b"/FlateDecode")
    assert refused(tmp_path, truncated) == PDF_UNCHECKABLE
    bomb = zlib.compress(b"\0" * 2_000_000)
    with pytest.raises(Undecodable):
        list(decoded_streams(object_stream_pdf(lambda d: bomb, b"/FlateDecode"), budget=1_000_000))


def test_streams_the_walk_does_not_account_for_are_refused(tmp_path: Path) -> None:
    hidden = b"<< /Type /ObjStm /Filter /AHx >>\nstream\n" + hexed(ACTION) + b"\nendstream\n"
    in_a_string = b"%PDF-1.7\n1 0 obj\n(" + hidden + b")\nendobj\n%%EOF\n"
    assert refused(tmp_path, in_a_string) == PDF_UNCHECKABLE
    no_header = b"%PDF-1.7\n" + hidden + b"%%EOF\n"
    assert refused(tmp_path, no_header) == PDF_UNCHECKABLE
    # A header whose comment is longer than the window headers are looked for in.
    far = b"%PDF-1.7\n1 0 %" + b"x" * 5000 + b"\nobj\n" + hidden + b"endobj\n%%EOF\n"
    assert refused(tmp_path, far) == PDF_UNCHECKABLE
    near = b"%PDF-1.7\n1 0 %" + b"x" * 50 + b"\nobj\n" + hidden + b"endobj\n%%EOF\n"
    assert refused(tmp_path, near) == PDF_ACTIVE  # read as an object, its stream decoded


def scanned_pdf() -> bytes:
    """A page as a scanner writes it: a JPEG image XObject and a Flate content stream
    drawing it, with a classic cross-reference table."""
    jpeg = io.BytesIO()
    Image.new("RGB", (320, 240), "white").save(jpeg, format="JPEG", quality=70)
    content = zlib.compress(b"q 200 0 0 150 0 0 cm /Im0 Do Q")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 150] /Contents 4 0 R"
        b" /Resources << /XObject << /Im0 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /XObject /Subtype /Image /Width 320 /Height 240 /ColorSpace /DeviceRGB"
        b" /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream"
        % (len(jpeg.getvalue()), jpeg.getvalue()),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)


def test_scanned_and_generated_pdfs_pass(tmp_path: Path) -> None:
    store = LocalDocumentStore(tmp_path / "docs")
    scan = scanned_pdf()
    assert len(pypdf.PdfReader(io.BytesIO(scan)).pages) == 1
    assert store.put_stream([scan]).media_type == "application/pdf"
    # Pillow's own PDFs, and the portal's forms (reportlab: Flate and ASCII85 chains,
    # embedded fonts, a PNG QR code)
    page = io.BytesIO()
    Image.new("RGB", (1240, 1754), "white").save(page, format="PDF", resolution=150)
    assert store.put_stream([page.getvalue()]).media_type == "application/pdf"
    form = render_pdf("01", build_context("01", sources(), load_catalog(), public_base_url=BASE))
    assert store.put_stream([form]).media_type == "application/pdf"
    # the same object stream as the audit's, without the script
    harmless = object_stream_pdf(
        lambda d: hexed(zlib.compress(d)), b"[/ASCIIHexDecode /FlateDecode]", b"<< /S /GoTo >>"
    )
    assert store.put_stream([harmless]).media_type == "application/pdf"
