"""Officials in a real Chromium take a citizen's birth registration from
reception to result — reception accepts, the specialist approves, the leader
approves, the issuer uploads the result — while the citizen's own page reflects
each step; axe-core finds no serious or critical violation on the inbox and the
case page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from dichvucong.accounts.officials import create_official
from tests.browser.conftest import LivePortal

pytestmark = pytest.mark.browser

PASSWORD = "mat-khau-2026"
CCCD = "075203001234"
COMMUNE = "000.21.21.H19"  # a commune: birth registration, free, no fee step
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BIRTH_FORM = {
    "ho_ten_tre": "Nguyễn Minh Khang",
    "gioi_tinh_tre": "nam",
    "ngay_sinh_tre": "2026-10-01",
    "noi_sinh_tre": "Bệnh viện Đa khoa Đồng Nai",
    "dan_toc_tre": "Kinh",
    "quoc_tich_tre": "Việt Nam",
    "ho_ten_me": "Trần Thị Hoa",
    "so_dinh_danh_me": "075305001234",
    "ho_ten_cha": "Nguyễn Văn An",
    "so_dinh_danh_cha": CCCD,
    "quan_he_nguoi_yeu_cau": "cha",
    "cam_doan": True,
}


async def check_a11y(page: Any, what: str) -> None:
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(str(node["target"][0]) for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert not bad, f"{what}: " + "\n".join(bad)


async def citizen_dossier(live: LivePortal) -> tuple[str, dict[str, str]]:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        created = await http.post(
            "/api/v1/accounts",
            json={
                "full_name": "Nguyễn Văn An",
                "id_number": CCCD,
                "date_of_birth": "2003-05-17",
                "phone": "0912345678",
                "address": "12 Võ Thị Sáu, Biên Hòa",
                "password": PASSWORD,
            },
        )
        assert created.status_code == 201, created.text
        token = await http.post("/api/v1/auth/token", data={"username": CCCD, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        submitted = await http.post(
            "/api/v1/dossiers",
            headers=headers,
            data={
                "procedure_code": "dang-ky-khai-sinh",
                "agency_code": COMMUNE,
                "delivery": "online",
                "form": json.dumps(BIRTH_FORM),
            },
            files=[("giay_chung_sinh", ("giay-chung-sinh.pdf", PDF, "application/pdf"))],
        )
        assert submitted.status_code == 201, submitted.text
        return submitted.json()["dossier_code"], headers


async def api_state(live: LivePortal, headers: dict[str, str], code: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=live.base_url) as http:
        answer = await http.get(f"/api/v1/dossiers/{code}", headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()


async def settled(live: LivePortal, code: str) -> None:
    import asyncio

    from dichvucong.db.models import Dossier

    for _ in range(200):
        with live.db.session() as session:
            row = session.get(Dossier, code)
            if row is not None and row.last_seq >= 0:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{code} never recorded")


async def signed_in_official(live: LivePortal, username: str, role: str) -> Any:
    with live.db.session() as session:
        create_official(
            session=session,
            username=username,
            password=PASSWORD,
            agency_code=COMMUNE,
            roles=[role],
            full_name=f"Cán bộ {role}",
        )
    context = await live.browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="vi-VN"
    )
    page = await context.new_page()
    page.set_default_timeout(15_000)
    await page.goto(live.url("/can-bo"))
    await page.wait_for_url(re.compile(r"/can-bo/dang-nhap"))
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("main button[type=submit]")
    await page.wait_for_url(live.url("/can-bo"))
    return page


async def open_case_from_inbox(page: Any, live: LivePortal, code: str, what: str) -> None:
    await page.goto(live.url("/can-bo"))
    row = page.locator(f'tr[data-code="{code}"]')
    await row.wait_for()
    await check_a11y(page, f"inbox of {what}")
    await row.locator("a").click()
    await page.wait_for_url(live.url(f"/can-bo/ho-so/{code}"))
    await check_a11y(page, f"case page for {what}")


async def decide(page: Any, code: str, action: str) -> None:
    await page.click(f"#action-{action} button[type=submit]")
    await page.wait_for_url(re.compile(rf"/can-bo/ho-so/{re.escape(code)}\?da={action}$"))
    assert "Đã thực hiện" in await page.inner_text("main")


async def citizen_sees(citizen: Any, live: LivePortal, code: str, text: str) -> None:
    await citizen.goto(live.url(f"/ho-so/{code}"))
    assert text in await citizen.inner_text("main")


async def test_reception_to_result_in_chromium(live: LivePortal, tmp_path: Path) -> None:
    code, headers = await citizen_dossier(live)
    await settled(live, code)
    result_pdf = tmp_path / "giay-khai-sinh.pdf"
    result_pdf.write_bytes(PDF + b"% ket qua\n")

    citizen_context = await live.browser.new_context(locale="vi-VN")
    citizen = await citizen_context.new_page()
    citizen.set_default_timeout(15_000)
    await citizen.goto(live.url(f"/dang-nhap?next=/ho-so/{code}"))
    await citizen.fill("#fld-username", CCCD)
    await citizen.fill("#fld-password", PASSWORD)
    await citizen.click("main button[type=submit]")
    await citizen.wait_for_url(re.compile(rf"/ho-so/{re.escape(code)}$"))
    await citizen_sees(citizen, live, code, "Chờ tiếp nhận")

    # Reception accepts.
    reception = await signed_in_official(live, "tiepnhan.xa", "reception")
    await open_case_from_inbox(reception, live, code, "reception")
    assert "Nguyễn Minh Khang" in await reception.inner_text("main")  # the e-form's data
    assert await reception.locator("iframe.doc-preview").count() == 1  # the PDF, inline
    await reception.fill("#accept-note", "Hồ sơ đầy đủ")
    await decide(reception, code, "accept")
    state = await api_state(live, headers, code)
    assert (state["status"], state["step"]) == ("PROCESSING", "kiem_tra")
    await citizen_sees(citizen, live, code, "Đang xử lý")

    # The specialist approves.
    specialist = await signed_in_official(live, "chuyenvien.xa", "specialist")
    await open_case_from_inbox(specialist, live, code, "specialist")
    await decide(specialist, code, "approve")
    assert (await api_state(live, headers, code))["step"] == "ky"

    # The leader approves.
    leader = await signed_in_official(live, "lanhdao.xa", "leader")
    await open_case_from_inbox(leader, live, code, "leader")
    await decide(leader, code, "approve")
    assert (await api_state(live, headers, code))["step"] == "tra_ket_qua"
    await citizen_sees(citizen, live, code, "Đang xử lý")

    # The issuer uploads the signed result: online delivery completes the case.
    issuer = await signed_in_official(live, "vanthu.xa", "issuer")
    await open_case_from_inbox(issuer, live, code, "issuer")
    await issuer.set_input_files("#issue_result-file", str(result_pdf))
    await issuer.fill("#issue_result-note", "Giấy khai sinh số 12/2026")
    await decide(issuer, code, "issue_result")
    assert "Đã hoàn thành" in await issuer.inner_text("#case-status")
    # Form 05 on the case page lists each hand-over.
    slip = await issuer.inner_text("#h-slip + div")
    assert "Chủ tịch Ủy ban nhân dân cấp xã ký Giấy khai sinh" in slip
    state = await api_state(live, headers, code)
    assert state["status"] == "COMPLETED"
    assert [e["action"] for e in state["events"]] == [
        "submit",
        "accept",
        "approve",
        "approve",
        "issue_result",
    ]
    await citizen_sees(citizen, live, code, "Đã hoàn thành")

    # The forms open from the case page.
    await issuer.goto(live.url(f"/can-bo/ho-so/{code}/mau/05.html"))
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in await issuer.inner_text("main")
    await issuer.goto(live.url(f"/ho-so/{code}/phieu-hen"))
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in await issuer.inner_text("main")
    for page in (reception, specialist, leader, issuer, citizen):
        await page.context.close()
