"""A procedure's downloadable forms are real printable PDFs, linked from its page."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from dichvucong.catalog import load_catalog
from dichvucong.official_forms.blank import render_blank_form
from tests.api.portal import portal

pypdf = pytest.importorskip("pypdf")

LEVEL_2 = "dang-ky-trung-tam-tu-van-phap-luat"


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_a_blank_form_has_its_title_lines_documents_and_signature() -> None:
    catalog = load_catalog()
    procedure = catalog.procedures[LEVEL_2]
    form = procedure.downloadable_forms[0]
    pdf = render_blank_form(procedure, form, "Sở Tư pháp tỉnh Đồng Nai")
    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert form.name in text
    assert "Kính gửi: Sở Tư pháp tỉnh Đồng Nai" in text
    assert "Họ và tên người làm đơn" in text  # no e-form: the applicant's details
    for slot in procedure.documents:
        assert slot.name in text
    assert "NGƯỜI LÀM ĐƠN" in text and "(Ký, ghi rõ họ tên)" in text


def test_a_form_with_e_form_fields_prints_them_as_lines() -> None:
    procedure = load_catalog().procedures["dang-ky-hoat-dong-van-phong-cong-chung"]
    text = text_of(render_blank_form(procedure, procedure.downloadable_forms[0], "Sở Tư pháp"))
    for field in procedure.form_fields:
        if field.type != "checkbox":
            assert field.label in text, field.label


async def test_the_procedure_page_links_each_form(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        page = await p.http.get(f"/thu-tuc/{LEVEL_2}", headers={"Accept": "text/html"})
        procedure = load_catalog().procedures[LEVEL_2]
        api = (await p.http.get(f"/api/v1/procedures/{LEVEL_2}")).json()
        for number in range(1, len(procedure.downloadable_forms) + 1):
            link = f"/thu-tuc/{LEVEL_2}/bieu-mau/{number}.pdf"
            assert f'href="{link}"' in page.text
            assert api["downloadable_forms"][number - 1]["url"] == link
            pdf = await p.http.get(link)
            assert pdf.status_code == 200
            assert pdf.headers["content-type"] == "application/pdf"
            assert procedure.downloadable_forms[number - 1].name in text_of(pdf.content)
        for missing in (0, len(procedure.downloadable_forms) + 1):
            assert (await p.http.get(f"/thu-tuc/{LEVEL_2}/bieu-mau/{missing}.pdf")).status_code == 404
        assert (await p.http.get("/thu-tuc/khong-co/bieu-mau/1.pdf")).status_code == 404
