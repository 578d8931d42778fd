"""Citizen journeys on the HTML pages: the fee button keeps the citizen informed
(files to attach again, a refused count flagged, no fee quoted from defaults), a
supplement sent twice reads as sent, sizes written the Vietnamese way, a refused
registration asks for the password again."""

from __future__ import annotations

import re
from pathlib import Path

from dichvucong.web.templating import file_size
from tests.api.portal import PDF_BYTES, portal
from tests.pages.test_audit_citizen_pages import waiting_for_supplement
from tests.pages.test_citizen_pages import (
    HTML,
    IDEM,
    REGISTRATION,
    dossier_count,
    page,
    page_form,
    post,
    submit_page,
    token,
)

ATTACH_AGAIN = "đính kèm lại các tệp"
RETYPE = "Vì lý do an toàn, vui lòng nhập lại mật khẩu."
CCCD = [("tep.giay_to_tuy_than", ("cccd.pdf", PDF_BYTES, "application/pdf"))]


def fee_box(html: str) -> str | None:
    found = re.search(r'<div class="fee-box".*?</div>', html, re.S)
    return found.group(0) if found else None


async def test_the_fee_button_says_the_files_must_be_attached_again(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        shown = await submit_page(p, {**page_form(), "hanh_dong": "tinh_phi"}, files=CCCD)
        assert shown.status_code == 200
        assert ATTACH_AGAIN in shown.text
        assert "200.000 đ" in (fee_box(shown.text) or "")
        assert 'id="loi-tong-hop"' not in shown.text  # nothing wrong: no error summary
        # Without files, no such notice.
        bare = await submit_page(p, {**page_form(), "hanh_dong": "tinh_phi"})
        assert bare.status_code == 200 and ATTACH_AGAIN not in bare.text
        assert dossier_count(p) == 0


async def test_the_fee_button_flags_a_refused_copy_count_and_quotes_nothing(
    tmp_path: Path,
) -> None:
    async with portal(tmp_path) as p:
        await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        shown = await submit_page(
            p, {**page_form(), "f.so_ban": "99", "hanh_dong": "tinh_phi"}, files=CCCD
        )
        html = shown.text
        assert shown.status_code == 422
        assert 'id="f-so_ban-error"' in html and 'href="#f-so_ban"' in html
        assert "Chưa tính được lệ phí." in html
        assert fee_box(html) is None and "(2 bản)" not in html
        assert ATTACH_AGAIN in html
        assert dossier_count(p) == 0

        # Only what the fee reads is checked: a blank name does not stop the quote.
        partial = await submit_page(
            p, {**page_form(), "f.ho_ten": "", "f.so_ban": "3", "hanh_dong": "tinh_phi"}
        )
        assert partial.status_code == 200, re.findall(r'class="error"[^<]*<', partial.text)
        assert 'id="f-ho_ten-error"' not in partial.text
        assert "205.000 đ" in (fee_box(partial.text) or "")

        # A submission refused for the count: no fee box quoting the defaults either.
        refused = await submit_page(p, {**page_form(), "f.so_ban": "99"}, files=CCCD)
        assert refused.status_code == 422 and 'id="f-so_ban-error"' in refused.text
        assert fee_box(refused.text) is None
        assert "Hồ sơ chưa hợp lệ, chưa được gửi." in refused.text


async def test_a_supplement_sent_twice_reads_as_sent(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        citizen = await p.login("075203001234")
        code = await waiting_for_supplement(p, citizen)
        form_page = await page(p.http, f"/ho-so/{code}")
        body = {
            "csrf_token": token(form_page),
            "idempotency_key": IDEM.search(form_page.text).group(1),  # type: ignore[union-attr]
            "note": "Đã chụp lại",
        }
        files = [("tep.giay_to_tuy_than", ("moi.pdf", PDF_BYTES + b"%x", "application/pdf"))]
        url = f"/ho-so/{code}/bo-sung"
        first = await p.http.post(url, data=body, files=files, headers=HTML)
        assert first.status_code == 303, first.text[:1000]
        await p.settled(code, seq=2)
        docs_before = (await p.http.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()

        again = await p.http.post(url, data=body, files=files, headers=HTML)
        assert again.status_code == 303, again.text[:1000]
        assert again.headers["location"] == f"/ho-so/{code}?da=bo-sung"
        docs_after = (await p.http.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
        assert docs_after["documents"] == docs_before["documents"]  # nothing sent again

        # A key the workflow never took: still "not sent" (nothing waits for it).
        other = await p.http.post(
            url, data={**body, "idempotency_key": "never-used"}, files=files, headers=HTML
        )
        assert other.status_code == 409
        assert "Chưa gửi được hồ sơ bổ sung" in other.text


async def test_size_limits_on_the_submission_form_use_the_decimal_comma(
    tmp_path: Path,
) -> None:
    async with portal(tmp_path) as p:
        await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        form_page = await page(p.http, "/nop-ho-so/ly-lich-tu-phap")
        hint = re.search(r"Tệp PDF hoặc JPEG[^<]*", form_page.text).group(0)  # type: ignore[union-attr]
        assert re.search(r"tối đa \d+(,\d)? MB mỗi tệp, \d+(,\d)? MB cả hồ sơ\.", hint), hint
        assert ".0 MB" not in form_page.text


def test_file_sizes_use_the_decimal_comma() -> None:
    assert file_size(1_572_864) == "1,5 MB"
    assert file_size(10 * 1024 * 1024) == "10 MB"
    assert file_size(2_048) == "2 KB"
    assert file_size(512) == "512 B"


async def test_a_refused_registration_asks_for_the_password_again(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        blank = await page(p.http, "/dang-ky")
        assert RETYPE not in blank.text

        bad = await post(p.http, "/dang-ky", "/dang-ky", {**REGISTRATION, "phone": "123"})
        assert bad.status_code == 422
        pw = re.search(r'<input id="fld-password"[^>]*>', bad.text).group(0)  # type: ignore[union-attr]
        assert 'value=""' in pw and "fld-password-error" in pw
        assert f'<p class="error" id="fld-password-error">{RETYPE}</p>' in bad.text
        summary = re.search(r'id="loi-tong-hop".*?</div>', bad.text, re.S).group(0)  # type: ignore[union-attr]
        assert 'href="#fld-password"' in summary and RETYPE in summary

        # The password's own refusal is shown instead, not both.
        short = await post(
            p.http, "/dang-ky", "/dang-ky", {**REGISTRATION, "phone": "123", "password": "ngan"}
        )
        assert short.status_code == 422 and RETYPE not in short.text
        assert 'id="fld-password-error"' in short.text
