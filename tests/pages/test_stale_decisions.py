"""A decision sent from a case page drawn before the case moved is refused (409), not
applied to a step the page never showed; so is one over the API with a stale If-Match."""

from __future__ import annotations

import re
from pathlib import Path

from tests.api.portal import STP, portal
from tests.pages.test_official_pages import desk, submitted


async def test_stale_approve_form_does_not_approve_the_next_step(tmp_path: Path) -> None:
    """An official holding the specialist and leader roles (a small office) has the case
    open in two tabs at «Thẩm định». Approving in the first tab moves the case to «Phê
    duyệt»; the second tab's form (its own idempotency key, nothing saying which step
    it was rendered for) then approves «Phê duyệt» too, a step its page never showed."""
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        code = await submitted(p, citizen)
        reception = await desk(p, "tiepnhan", STP, "reception")
        both = await desk(p, "truongphong", STP, "specialist", "leader")
        assert (await reception.act(code, "accept")).status_code == 303
        paid = await reception.act(
            code, "record_counter_payment", receipt_no="BL-01", amount="200000"
        )
        assert paid.status_code == 303
        await p.settled(code, 2)
        tab1 = await both.case(code)
        tab2 = await both.case(code)
        step = "Tra cứu, xác minh thông tin lý lịch tư pháp"
        assert step in tab1.text and step in tab2.text
        def form_of(html: str) -> dict[str, str]:
            block = html.split(f'action="/can-bo/ho-so/{code}/approve"', 1)[1].split("</form>")[0]
            return dict(re.findall(r'name="(csrf_token|idempotency_key|seen_seq)" value="([^"]+)"', block))

        first = await both.http.post(f"/can-bo/ho-so/{code}/approve", data=form_of(tab1.text))
        assert first.status_code == 303
        stale = await both.http.post(f"/can-bo/ho-so/{code}/approve", data=form_of(tab2.text))
        state = (await p.http.get(f"/api/v1/dossiers/{code}", headers=await p.login("tiepnhan"))).json()
        # The stale form must be refused (409, case changed) and the case stay at phe_duyet.
        assert stale.status_code == 409, (stale.status_code, state.get("step"))
        assert state["step"] == "phe_duyet", state.get("step")
        assert "Hồ sơ đã thay đổi" in stale.text
        # Reloaded, the page acts on the case as it is.
        fresh = await both.case(code)
        assert (await both.http.post(f"/can-bo/ho-so/{code}/approve",
                                     data=form_of(fresh.text))).status_code == 303


async def test_the_api_checks_if_match(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        code = (await p.submit(citizen)).json()["dossier_code"]
        await p.settled(code)
        reception = await p.login(p.official("tiepnhan", STP, "reception"))
        read = await p.http.get(f"/api/v1/dossiers/{code}", headers=reception)
        seq = read.json()["seq"]
        assert read.headers["etag"] == f'"{seq}"'  # what If-Match names
        stale = await p.http.post(f"/api/v1/dossiers/{code}/actions/accept", json={},
                                  headers={**reception, "If-Match": f'"{seq + 1}"'})
        assert stale.status_code == 409 and "Hồ sơ đã thay đổi" in stale.json()["detail"]
        bad = await p.http.post(f"/api/v1/dossiers/{code}/actions/accept", json={},
                                headers={**reception, "If-Match": "abc"})
        assert bad.status_code == 400
        fresh = await p.http.post(f"/api/v1/dossiers/{code}/actions/accept", json={},
                                  headers={**reception, "If-Match": f'"{seq}"'})
        assert fresh.status_code == 200, fresh.text
