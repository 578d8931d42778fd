"""Audit findings on the citizen's forms: a failed supplement comes back to the
dossier page with its errors tied to the fields (the note kept, each slot's picker
offering only its types), and the login error is tied to the login fields."""

from __future__ import annotations

import re
from pathlib import Path

from tests.api.portal import PASSWORD, PDF_BYTES, portal
from tests.pages.test_audit_citizen_pages import (
    TYPE_REFUSED,
    read_model_waits_again,
    saved_jpeg,
    waiting_for_supplement,
)
from tests.pages.test_citizen_pages import REGISTRATION, page, post

NOTE = "Tôi đã chụp lại giấy tờ"


def tag(html: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    match = re.search(rf'<[a-z]+ [^>]*id="{re.escape(element_id)}"[^>]*>', html)
    assert match, f"no element #{element_id}"
    return match.group(0)


def described_ids(html: str, element_id: str) -> list[str]:
    match = re.search(r'aria-describedby="([^"]*)"', tag(html, element_id))
    return match.group(1).split() if match else []


async def test_an_empty_supplement_comes_back_to_the_dossier_page(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        citizen = await p.login("075203001234")
        code = await waiting_for_supplement(p, citizen)

        empty = await post(p.http, f"/ho-so/{code}", f"/ho-so/{code}/bo-sung", {"note": NOTE})
        assert empty.status_code == 422, empty.text[:500]
        html = empty.text
        # Still the dossier, its supplement form, the summary linking to the first input.
        assert f'<h1>Hồ sơ <span class="code">{code}</span></h1>' in html
        assert f'action="/ho-so/{code}/bo-sung"' in html
        assert 'id="loi-tong-hop"' in html and 'href="#bs-giay_to_tuy_than"' in html
        assert "Vui lòng đính kèm ít nhất một giấy tờ bổ sung." in html
        first = tag(html, "bs-giay_to_tuy_than")
        assert 'aria-invalid="true"' in first
        ids = described_ids(html, "bs-giay_to_tuy_than")
        assert "bs-giay-to-error" in ids and 'id="bs-giay-to-error"' in html
        for described in ids:
            assert f'id="{described}"' in html
        assert f">{NOTE}</textarea>" in html


async def test_a_refused_file_is_shown_next_to_its_slot(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        citizen = await p.login("075203001234")
        jpeg_id = await saved_jpeg(p, citizen)
        code = await waiting_for_supplement(p, citizen)

        wrong = await post(p.http, f"/ho-so/{code}", f"/ho-so/{code}/bo-sung",
                           {"dung_lai.van_ban_uy_quyen": str(jpeg_id), "note": NOTE})  # fmt: skip
        assert wrong.status_code == 422
        html = wrong.text
        assert f'<p class="error" id="bs-van_ban_uy_quyen-error">{TYPE_REFUSED}</p>' in html
        slot = tag(html, "bs-van_ban_uy_quyen")
        assert 'aria-invalid="true"' in slot
        assert described_ids(html, "bs-van_ban_uy_quyen") == [
            "bs-van_ban_uy_quyen-error",
            "bs-van_ban_uy_quyen-hint",
        ]
        assert 'aria-invalid="true"' not in tag(html, "bs-giay_to_tuy_than")
        assert f">{NOTE}</textarea>" in html


async def test_each_supplement_slot_offers_only_its_types(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        citizen = await p.login("075203001234")
        code = await waiting_for_supplement(p, citizen)

        html = (await page(p.http, f"/ho-so/{code}")).text
        pdf_only = tag(html, "bs-van_ban_uy_quyen")
        assert 'accept=".pdf,application/pdf"' in pdf_only and "jpeg" not in pdf_only
        assert "jpeg" in tag(html, "bs-giay_to_tuy_than")
        assert "aria-invalid" not in pdf_only
        assert described_ids(html, "bs-van_ban_uy_quyen") == ["bs-van_ban_uy_quyen-hint"]
        assert '<p class="hint" id="bs-van_ban_uy_quyen-hint">PDF, tối đa 10 MB.</p>' in html


async def test_a_refused_supplement_says_why_on_the_dossier_page(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        citizen = await p.login("075203001234")
        code = await waiting_for_supplement(p, citizen)
        files = [("tep.giay_to_tuy_than", ("a.pdf", PDF_BYTES + b"%a", "application/pdf"))]
        sent = await post(p.http, f"/ho-so/{code}", f"/ho-so/{code}/bo-sung", {}, files=files)
        assert sent.status_code == 303
        await p.settled(code, seq=2)

        read_model_waits_again(p, code)  # the workflow is no longer waiting: it refuses
        files = [("tep.giay_to_tuy_than", ("b.pdf", PDF_BYTES + b"%b", "application/pdf"))]
        refused = await post(p.http, f"/ho-so/{code}", f"/ho-so/{code}/bo-sung",
                             {"note": NOTE}, files=files)  # fmt: skip
        assert refused.status_code == 409, refused.text[:500]
        html = refused.text
        assert f'<span class="code">{code}</span></h1>' in html
        assert 'id="loi-bo-sung"' in html and "Chưa gửi được hồ sơ bổ sung." in html
        assert f">{NOTE}</textarea>" in html


async def test_the_login_error_is_tied_to_the_fields(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        p.http.cookies.clear()

        blank = (await page(p.http, "/dang-nhap")).text
        assert "aria-invalid" not in tag(blank, "fld-username")
        assert described_ids(blank, "fld-password") == []

        wrong = await post(p.http, "/dang-nhap", "/dang-nhap",
                           {"username": "075203001234", "password": PASSWORD + "x"})  # fmt: skip
        assert wrong.status_code == 401
        assert 'id="dang-nhap-loi"' in wrong.text
        for fid in ("fld-username", "fld-password"):
            assert 'aria-invalid="true"' in tag(wrong.text, fid)
            assert described_ids(wrong.text, fid) == ["dang-nhap-loi"]
