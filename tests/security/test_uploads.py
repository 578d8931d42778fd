"""Upload hardening: PDFs with active content and decompression-bomb images are
refused, with a Vietnamese reason, and nothing stays on disk."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import httpx
import pytest
from PIL import Image

from dichvucong.app import create_app
from dichvucong.documents.media import PdfActiveContentScanner, UnsafeDocument
from dichvucong.documents.store import LocalDocumentStore
from dichvucong.seed import seed
from dichvucong.settings import Settings
from tests.api.portal import LLTP_FORM, PASSWORD

SAFE_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/OpenAction[3 0 R/Fit]>>endobj\ntrailer<<>>\n%%EOF\n"
JS_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/OpenAction 2 0 R>>endobj\n"
    b"2 0 obj<</S/JavaScript/JS(app.alert(1))>>endobj\ntrailer<<>>\n%%EOF\n"
)


def files_in(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG claiming ``width`` x ``height`` pixels in a few bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "body",
    [
        JS_PDF,
        b"%PDF-1.7\n<</AA<</O<</S/J#61vaScript/JS 5 0 R>>>>>>\n%%EOF",  # escaped name
        b"%PDF-1.7\n<</S/Launch/F(cmd.exe)>>\n%%EOF",
        b"%PDF-1.7\n<</Type/EmbeddedFile/Length 3>>stream\nabc\nendstream\n%%EOF",
        b"%PDF-1.7\n<</Names<</EmbeddedFiles 4 0 R>>>>\n%%EOF /JS",  # a name at the very end
        # hidden in a compressed object stream: only visible once inflated
        b"%PDF-1.7\n5 0 obj<</Type/ObjStm/N 1/First 4/Filter/FlateDecode>>stream\n"
        + zlib.compress(b"6 0 <</S/JavaScript/JS(app.alert(1))>>")
        + b"\nendstream\nendobj\n%%EOF\n",
    ],
)
def test_active_pdf_refused_even_across_chunk_boundaries(tmp_path: Path, body: bytes) -> None:
    store = LocalDocumentStore(tmp_path / "docs")
    for size in (1, 7, 64 * 1024):
        chunks = [body[i : i + size] for i in range(0, len(body), size)]
        with pytest.raises(UnsafeDocument) as refused:
            store.put_stream(chunks)
        assert "JavaScript" in str(refused.value)  # the Vietnamese reason names the risk
    assert files_in(tmp_path / "docs") == []


def test_harmless_pdf_and_images_pass(tmp_path: Path) -> None:
    store = LocalDocumentStore(tmp_path / "docs", max_image_pixels=1_000_000)
    assert store.put_stream([SAFE_PDF]).media_type == "application/pdf"
    small = png_bytes(Image.new("RGB", (300, 200), "white"))
    assert store.put_stream([small]).media_type == "image/png"
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(jpeg, format="JPEG")
    # Compressed image data may contain "/JS" by chance: only PDFs are scanned for names.
    assert store.put_stream([jpeg.getvalue() + b"/JS"]).media_type == "image/jpeg"
    scanner = PdfActiveContentScanner()
    for byte in b"<</JSX 1/Nope/J>>":
        scanner.feed(bytes([byte]))
    scanner.close()
    assert scanner.found is None


def test_decompression_bombs_refused(tmp_path: Path) -> None:
    store = LocalDocumentStore(tmp_path / "docs", max_image_pixels=1_000_000)
    blank = png_bytes(Image.new("1", (2000, 1000)))  # 2 megapixels of nothing, ~1 KB
    assert len(blank) < 20_000
    with pytest.raises(UnsafeDocument) as refused:
        store.put_stream([blank])
    assert "quá lớn" in str(refused.value)
    with pytest.raises(UnsafeDocument):  # 900 megapixels claimed: Pillow's own guard
        LocalDocumentStore(tmp_path / "docs").put_stream([huge_png_header(30_000, 30_000)])
    assert files_in(tmp_path / "docs") == []


async def test_submission_with_active_pdf_stores_nothing(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, environment="test", secret_key="test-secret-0123456789")
    seed(settings)
    web = create_app(settings, temporal=object())  # refused before any workflow starts
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http:
        registered = await http.post(
            "/api/v1/accounts",
            json={
                "full_name": "Nguyễn Văn An",
                "id_number": "075203001234",
                "date_of_birth": "2003-05-17",
                "phone": "0912345678",
                "address": "12 Võ Thị Sáu, Biên Hòa",
                "password": PASSWORD,
            },
        )
        assert registered.status_code == 201
        token = (
            await http.post(
                "/api/v1/auth/token", data={"username": "075203001234", "password": PASSWORD}
            )
        ).json()["access_token"]
        response = await http.post(
            "/api/v1/dossiers",
            data={
                "procedure_code": "ly-lich-tu-phap",
                "agency_code": "000.00.12.H19",
                "delivery": "online",
                "form": json.dumps(LLTP_FORM),
            },
            files=[("giay_to_tuy_than", ("cccd.pdf", JS_PDF, "application/pdf"))],
            headers={"Authorization": f"Bearer {token}"},
        )
    web.state.db.dispose()
    assert response.status_code == 422, response.text
    assert "giay_to_tuy_than" in str(response.json()["errors"])
    assert files_in(settings.resolved_documents_dir) == []
