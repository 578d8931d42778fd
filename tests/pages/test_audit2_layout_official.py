"""Officials' pages as markup: a failed action's fields point at its message, the
wide tables of the case page scroll in named focusable regions, and an official
who supervises finds /giam-sat in the header."""

from __future__ import annotations

import re
from pathlib import Path

from tests.api.portal import STP, portal
from tests.pages.test_official_pages import desk, submitted


def tag(html: str, element_id: str) -> str:
    found = re.search(rf'<[a-z]+ [^>]*id="{re.escape(element_id)}"[^>]*>', html)
    assert found, f"no element #{element_id}"
    return found.group(0)


def header(html: str) -> str:
    return html.split("<header", 1)[1].split("</header>", 1)[0]


async def test_a_refused_action_describes_its_fields_by_the_message(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        code = await submitted(p, await p.login("075203001234"))
        reception = await desk(p, "tiepnhan", STP, "reception")

        page = (await reception.case(code)).text
        assert 'id="action-error"' not in page
        assert "aria-invalid" not in tag(page, "refuse-reason")
        assert 'aria-describedby="request_supplement-hint"' in tag(page, "request_supplement-items")

        refused = await reception.act(code, "refuse", reason="  ")
        assert refused.status_code == 409 and 'id="action-error"' in refused.text
        reason = tag(refused.text, "refuse-reason")
        assert 'aria-describedby="action-error"' in reason and 'aria-invalid="true"' in reason
        # The other forms on the page did not fail.
        items = tag(refused.text, "request_supplement-items")
        assert 'aria-describedby="request_supplement-hint"' in items
        assert "action-error" not in items and "aria-invalid" not in items

        asked = await reception.act(code, "request_supplement", items=" ", note="x")
        assert asked.status_code == 409, asked.text
        items = tag(asked.text, "request_supplement-items")
        assert 'aria-describedby="request_supplement-hint action-error"' in items
        assert 'aria-invalid="true"' in items
        note = tag(asked.text, "request_supplement-note")  # optional: described, not invalid
        assert 'aria-describedby="action-error"' in note and "aria-invalid" not in note


async def test_case_page_tables_scroll_in_named_regions(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        code = await submitted(p, await p.login("075203001234"))
        reception = await desk(p, "tiepnhan", STP, "reception")
        assert (await reception.act(code, "accept", note="Đủ")).status_code == 303
        paid = await reception.act(
            code, "record_counter_payment", receipt_no="BL-01", amount="200000"
        )
        assert paid.status_code == 303, paid.text
        page = (await reception.case(code)).text
        wrappers = re.findall(r'<div class="table-scroll"[^>]*>', page)
        assert len(wrappers) == 2, wrappers  # Form 05 and the due-date history
        for wrapper in wrappers:
            assert 'tabindex="0"' in wrapper and 'role="region"' in wrapper
            assert re.search(r'aria-label="[^"]+"', wrapper), wrapper
        slip = (await reception.http.get(f"/can-bo/ho-so/{code}/mau/05.html")).text
        assert re.search(r'<div class="table-scroll" tabindex="0" role="region" aria-label=', slip)


async def test_supervisors_find_the_dashboard_in_the_header(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        supervisor = await desk(p, "giamsat", STP, "supervisor")
        reception = await desk(p, "tiepnhan", STP, "reception")
        inbox = await supervisor.http.get("/can-bo")
        assert inbox.status_code == 200
        assert 'href="/giam-sat"' in header(inbox.text)
        assert 'href="/giam-sat"' not in header((await reception.http.get("/can-bo")).text)
        dashboard = await supervisor.http.get("/giam-sat")
        assert dashboard.status_code == 200, dashboard.text
        assert 'href="/can-bo"' in header(dashboard.text)
