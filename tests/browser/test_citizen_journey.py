"""A citizen's journey in a real Chromium, on a desktop and on a 360 px phone:
register (with a first mistake), log in, submit the criminal-record procedure
with a PDF, see the code, open the slip, look the dossier up by code and by
CCCD — with an axe-core check (no serious or critical violation) on each page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LivePortal

pytestmark = pytest.mark.browser

PASSWORD = "mat-khau-2026"
CCCD = "075203001234"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
STP = "000.00.12.H19"

VIEWPORTS = {
    "desktop": {"width": 1280, "height": 800},
    "mobile": {"width": 360, "height": 740},
}


async def check_a11y(page: Any, what: str) -> None:
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert not bad, f"{what}: " + "\n".join(bad)


async def no_horizontal_scroll(page: Any, what: str) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport + 1, f"{what}: page is {width}px wide in a {viewport}px viewport"


@pytest.mark.parametrize("device", list(VIEWPORTS))
async def test_register_submit_and_look_up(live: LivePortal, tmp_path: Path, device: str) -> None:
    pdf = tmp_path / "cccd.pdf"
    pdf.write_bytes(PDF)
    context = await live.browser.new_context(viewport=VIEWPORTS[device], locale="vi-VN")
    page = await context.new_page()
    page.set_default_timeout(15_000)
    try:
        # Home: both search boxes, the four steps, the figures.
        await page.goto(live.url("/"))
        await check_a11y(page, "home")
        await no_horizontal_scroll(page, "home")
        await page.fill("#tim-thu-tuc", "ly lich")
        await page.click("form[action='/thu-tuc'] button[type=submit]")
        await page.wait_for_url(re.compile(r"/thu-tuc\?q=ly"))
        await check_a11y(page, "catalog")
        await no_horizontal_scroll(page, "catalog")
        await page.click("a[href='/thu-tuc/ly-lich-tu-phap']")
        await page.wait_for_url(re.compile("/thu-tuc/ly-lich-tu-phap$"))
        await check_a11y(page, "procedure")
        await no_horizontal_scroll(page, "procedure")

        # Register: a wrong CCCD first, the message next to the field, values kept.
        await page.goto(live.url("/dang-ky"))
        await check_a11y(page, "register")
        await page.fill("#fld-full-name", "Nguyễn Văn An")
        await page.fill("#fld-id-number", "07520300")
        await page.fill("#fld-date-of-birth", "2003-05-17")
        await page.fill("#fld-phone", "0912345678")
        await page.fill("#fld-address", "12 Võ Thị Sáu, Biên Hòa")
        await page.fill("#fld-password", PASSWORD)
        await page.click("button:has-text('Đăng ký')")
        await page.wait_for_selector("#fld-id-number-error")
        assert "12 chữ số" in await page.inner_text("#fld-id-number-error")
        assert await page.input_value("#fld-full-name") == "Nguyễn Văn An"
        await check_a11y(page, "register with errors")
        await no_horizontal_scroll(page, "register with errors")
        await page.fill("#fld-id-number", CCCD)
        await page.fill("#fld-password", PASSWORD)
        await page.click("button:has-text('Đăng ký')")
        await page.wait_for_url(re.compile("/tai-khoan"))

        # Log out, then log in by CCCD.
        await page.click("button:has-text('Đăng xuất')")
        await page.wait_for_url(live.url("/"))
        await page.goto(live.url("/nop-ho-so/ly-lich-tu-phap"))
        await page.wait_for_url(re.compile("/dang-nhap"))
        await check_a11y(page, "login")
        await page.fill("#fld-username", CCCD)
        await page.fill("#fld-password", PASSWORD)
        await page.click("main button[type=submit]")
        await page.wait_for_url(re.compile("/nop-ho-so/ly-lich-tu-phap$"))

        # The e-form: identity fields prefilled from the account.
        await check_a11y(page, "submit form")
        await no_horizontal_scroll(page, "submit form")
        assert await page.input_value("#f-so_dinh_danh") == CCCD
        await page.select_option("#f-gioi_tinh", "nam")
        await page.fill("#f-noi_sinh", "Biên Hòa, Đồng Nai")
        await page.fill("#f-quoc_tich", "Việt Nam")
        await page.select_option("#f-loai_phieu", "1")
        await page.fill("#f-muc_dich", "Xin việc")
        await page.fill("#f-so_ban", "2")
        await page.select_option("#f-doi_tuong_phi", "khong")
        await page.check("#f-cam_doan")
        await page.set_input_files("#tep-giay_to_tuy_than", str(pdf))
        await page.check("#delivery-online")
        await page.click("#nut-nop")
        await page.wait_for_url(re.compile(r"/ho-so/.+\?moi=1$"))
        code = (await page.inner_text("#ma-ho-so")).strip()
        assert re.fullmatch(rf"{re.escape(STP)}-\d{{6}}-\d{{4}}", code), code
        assert "Chờ tiếp nhận" in await page.inner_text("main")
        await check_a11y(page, "dossier detail")
        await no_horizontal_scroll(page, "dossier detail")

        # The appointment slip (form 01): its dossier code, the applicant, the QR code.
        slip = await page.goto(live.url(f"/ho-so/{code}/phieu-hen"))
        assert slip is not None and slip.status == 200
        assert await page.inner_text("main h1") == "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"
        assert (await page.inner_text("main .code")).strip() == code
        assert "Nguyễn Văn An" in await page.inner_text("main")
        qr_alt = await page.get_attribute(".qr-box img", "alt")
        assert qr_alt == f"Mã QR tra cứu hồ sơ {code}"

        # Public lookup, signed out: by code and by CCCD; the name is masked.
        await context.clear_cookies()
        for query in (code, CCCD):
            await page.goto(live.url("/tra-cuu"))
            await page.fill("#q", query)
            await page.click("main button[type=submit]")
            await page.wait_for_selector(".lookup-result")
            text = await page.inner_text("main")
            assert code in text and "Chờ tiếp nhận" in text
            assert "Nguyễn V" in text and "Nguyễn Văn An" not in text
            await check_a11y(page, f"lookup by {query}")
            await no_horizontal_scroll(page, "lookup")
    finally:
        await context.close()
