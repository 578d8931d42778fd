"""On a 360 px phone in Chromium, the citizen's appointment slip (Form 01), the
official's case page and the Form 05 sheet fit the viewport: wide tables scroll
inside their own region, never the page. The header's focus ring is the light one."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dichvucong.accounts.officials import create_official
from tests.browser.conftest import LivePortal
from tests.browser.test_official_journey import (
    CCCD,
    COMMUNE,
    PASSWORD,
    citizen_dossier,
    decide,
    settled,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
OVERFLOW = "() => [document.documentElement.scrollWidth, window.innerWidth]"


async def phone(live: LivePortal) -> Any:
    context = await live.browser.new_context(viewport=PHONE, locale="vi-VN")
    page = await context.new_page()
    page.set_default_timeout(15_000)
    return page


async def assert_fits(page: Any, what: str) -> None:
    scroll_width, inner_width = await page.evaluate(OVERFLOW)
    assert scroll_width <= inner_width, f"{what}: {scroll_width} px wide in {inner_width} px"


async def test_slip_case_page_and_form05_fit_a_phone(live: LivePortal) -> None:
    code, _ = await citizen_dossier(live)
    await settled(live, code)

    citizen = await phone(live)
    await citizen.goto(live.url(f"/dang-nhap?next=/ho-so/{code}"))
    await citizen.fill("#fld-username", CCCD)
    await citizen.fill("#fld-password", PASSWORD)
    await citizen.click("main button[type=submit]")
    await citizen.wait_for_url(re.compile(rf"/ho-so/{re.escape(code)}$"))
    slip = await citizen.goto(live.url(f"/ho-so/{code}/phieu-hen"))
    assert slip is not None and slip.status == 200
    await assert_fits(citizen, "appointment slip")

    with live.db.session() as session:
        create_official(
            session=session,
            username="tiepnhan.xa",
            password=PASSWORD,
            agency_code=COMMUNE,
            roles=["reception"],
            full_name="Cán bộ tiếp nhận",
        )
    official = await phone(live)
    await official.goto(live.url("/can-bo/dang-nhap"))
    await official.fill("#username", "tiepnhan.xa")
    await official.fill("#password", PASSWORD)
    await official.click("main button[type=submit]")
    await official.wait_for_url(live.url("/can-bo"))
    await official.goto(live.url(f"/can-bo/ho-so/{code}"))
    await decide(official, code, "accept")  # Form 05 now has its first row
    await assert_fits(official, "case page")
    region = official.locator("#h-slip ~ .table-scroll")
    assert await region.evaluate("e => e.scrollWidth > e.clientWidth")  # it scrolls, inside

    await official.focus(".site-header .brand")
    ring = await official.evaluate("() => getComputedStyle(document.activeElement).outlineColor")
    assert ring == "rgb(255, 212, 59)"

    await official.goto(live.url(f"/can-bo/ho-so/{code}/mau/05.html"))
    await assert_fits(official, "Form 05")
