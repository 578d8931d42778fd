"""Officials' pages over HTTP (ASGI, real time-skipping Temporal and worker):
sign-in, the inbox, the role × status matrix of the action forms, rights (403),
other agencies (404), the workflow's refusals shown in Vietnamese, idempotent
re-sent forms, and the forms 01–05 in HTML and PDF."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from dichvucong.db.models import DossierEvent
from tests.api.portal import COMMUNE, PASSWORD, PDF_BYTES, STP, Portal, portal

HTML = {"Accept": "text/html"}
ACTION_FORM = re.compile(r'action="/can-bo/ho-so/[^/"]+/(\w+)"')


class Desk:
    """One official's browser: its own cookie jar on the same app."""

    def __init__(self, p: Portal, username: str) -> None:
        self.http = httpx.AsyncClient(
            transport=p.http._transport, base_url="http://portal.test", headers=HTML
        )
        self.username = username

    async def login(self, password: str = PASSWORD) -> httpx.Response:
        page = await self.http.get("/can-bo/dang-nhap")
        return await self.http.post(
            "/can-bo/dang-nhap",
            data={
                "csrf_token": token(page.text),
                "username": self.username,
                "password": password,
                "next": "/can-bo",
            },
        )

    async def case(self, code: str) -> httpx.Response:
        return await self.http.get(f"/can-bo/ho-so/{code}")

    async def actions(self, code: str) -> set[str]:
        page = await self.case(code)
        assert page.status_code == 200, page.text
        return set(ACTION_FORM.findall(page.text))

    async def act(
        self, code: str, action: str, key: str | None = None, **fields: str
    ) -> httpx.Response:
        page = await self.http.get(f"/can-bo/ho-so/{code}")
        if page.status_code != 200:  # another agency's case: the token of any page will do
            page = await self.http.get("/can-bo")
        data = {"csrf_token": token(page.text), **fields}
        if key:
            data["idempotency_key"] = key
        return await self.http.post(f"/can-bo/ho-so/{code}/{action}", data=data)


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def desk(p: Portal, username: str, agency: str, *roles: str) -> Desk:
    p.official(username, agency, *roles)
    d = Desk(p, username)
    answer = await d.login()
    assert answer.status_code == 303 and answer.headers["location"] == "/can-bo", answer.text
    return d


async def submitted(p: Portal, citizen: dict[str, str]) -> str:
    answer = await p.submit(citizen)
    assert answer.status_code == 201, answer.text
    code = answer.json()["dossier_code"]
    await p.settled(code)
    return code


def events(p: Portal, code: str) -> list[str]:
    with p.db.session() as session:
        rows = session.exec(
            select(DossierEvent).where(DossierEvent.dossier_code == code).order_by(DossierEvent.seq)
        ).all()
    return [e.action for e in rows]


async def test_officials_take_a_case_through_their_pages(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        code = await submitted(p, citizen)

        nobody = Desk(p, "")
        first = await nobody.http.get("/can-bo")
        assert first.status_code == 303
        assert first.headers["location"] == "/can-bo/dang-nhap?next=/can-bo"
        p.official("tiepnhan", STP, "reception")
        wrong = await Desk(p, "tiepnhan").login("sai-mat-khau")
        assert wrong.status_code == 401
        assert "Tên đăng nhập hoặc mật khẩu không đúng." in wrong.text

        reception = Desk(p, "tiepnhan")
        assert (await reception.login()).status_code == 303
        specialist = await desk(p, "chuyenvien", STP, "specialist")
        leader = await desk(p, "lanhdao", STP, "leader")
        supervisor = await desk(p, "giamsat", STP, "supervisor")
        stranger = await desk(p, "tiepnhan.xa", COMMUNE, "reception")

        inbox = await reception.http.get("/can-bo")
        assert inbox.status_code == 200
        assert f'href="/can-bo/ho-so/{code}"' in inbox.text
        assert "Chờ tiếp nhận" in inbox.text and "Hồ sơ cần xử lý" in inbox.text
        assert code not in (await specialist.http.get("/can-bo")).text
        filtered = await reception.http.get("/can-bo", params={"procedure": "dang-ky-ket-hon"})
        assert code not in filtered.text
        assert code not in (await reception.http.get("/can-bo", params={"overdue": "1"})).text
        assert code in (await reception.http.get("/can-bo?status=SUBMITTED")).text
        assert code not in (await reception.http.get("/can-bo?status=PROCESSING")).text

        # SUBMITTED: reception may accept, refuse or ask for a supplement; nobody else.
        page = await reception.case(code)
        assert "Nguyễn Văn An" in page.text and "Xin việc" in page.text
        assert f"/api/v1/dossiers/{code}/documents/" in page.text and "<iframe" in page.text
        assert await reception.actions(code) == {"accept", "refuse", "request_supplement"}
        assert await specialist.actions(code) == set()
        assert await supervisor.actions(code) == set()
        forbidden = await specialist.act(code, "accept")
        assert forbidden.status_code == 403
        assert "Vai trò của bạn không được thực hiện thao tác «Tiếp nhận»" in forbidden.text
        assert (await stranger.case(code)).status_code == 404
        assert (await stranger.act(code, "accept")).status_code == 404
        no_csrf = await reception.http.post(f"/can-bo/ho-so/{code}/accept", data={})
        assert no_csrf.status_code == 403

        # A re-sent form (same hidden key) acts once.
        accepted = await reception.act(code, "accept", key="k-accept", note="Hồ sơ đủ")
        assert accepted.status_code == 303, accepted.text
        assert accepted.headers["location"] == f"/can-bo/ho-so/{code}?da=accept"
        again = await reception.act(code, "accept", key="k-accept", note="Hồ sơ đủ")
        assert again.status_code == 303
        assert events(p, code) == ["submit", "accept"]
        shown = await reception.http.get(accepted.headers["location"])
        assert "Đã thực hiện «Tiếp nhận»" in shown.text

        # AWAITING_PAYMENT: the counter payment, with the workflow's refusal in Vietnamese.
        assert await reception.actions(code) == {"record_counter_payment"}
        assert 'name="amount" min="0" step="1" value="200000"' in (await reception.case(code)).text
        refused = await reception.act(
            code, "record_counter_payment", receipt_no="BL-01", amount="100000"
        )
        assert refused.status_code == 409
        assert "không khớp với phí, lệ phí" in refused.text
        paid = await reception.act(
            code, "record_counter_payment", receipt_no="BL-01", amount="200.000"
        )
        assert paid.status_code == 303, paid.text

        # PROCESSING, first step (specialist): no earlier step to send back to.
        assert await specialist.actions(code) == {"approve", "request_supplement", "reject"}
        assert await leader.actions(code) == set()
        assert await reception.actions(code) == set()
        assert (await specialist.act(code, "approve", note="Đạt")).status_code == 303

        # Second step (leader): may also send back; an empty reason is refused.
        assert await leader.actions(code) == {
            "approve",
            "request_supplement",
            "reject",
            "send_back",
        }
        assert "Tra cứu, xác minh thông tin lý lịch tư pháp" in (await leader.case(code)).text
        no_reason = await leader.act(code, "send_back", to_step="tham_dinh", reason="")
        assert no_reason.status_code == 409
        assert "Vui lòng nêu lý do." in no_reason.text
        sent_back = await leader.act(
            code, "send_back", to_step="tham_dinh", reason="Cần xác minh thêm"
        )
        assert sent_back.status_code == 303
        assert "approve" in await specialist.actions(code)

        inbox = await specialist.http.get("/can-bo")
        assert code in inbox.text and "Đang xử lý" in inbox.text

        # The forms: 01 for everyone concerned, 05 with each hand-over, 02 not yet.
        slip = await leader.http.get(f"/can-bo/ho-so/{code}/mau/05.html")
        assert slip.status_code == 200
        assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in slip.text
        assert "Trả lại bước trước" in slip.text
        pdf = await leader.http.get(f"/can-bo/ho-so/{code}/mau/05.pdf")
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
        assert (await leader.http.get(f"/can-bo/ho-so/{code}/mau/02.pdf")).status_code == 404
        assert (await stranger.http.get(f"/can-bo/ho-so/{code}/mau/05.pdf")).status_code == 404
        receipt = await p.http.get(f"/api/v1/dossiers/{code}/receipt.pdf", headers=citizen)
        assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")
        slip01 = await reception.http.get(f"/ho-so/{code}/phieu-hen")
        assert slip01.status_code == 200
        assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in slip01.text
        assert f"http://portal.test/tra-cuu?q={code}" in slip01.text
        assert 'src="data:image/svg+xml' in slip01.text

        # The province's supervisor sees the case, cannot act on it.
        assert (await supervisor.case(code)).status_code == 200
        assert (await supervisor.act(code, "approve")).status_code == 403

        out = await reception.http.post(
            "/can-bo/dang-xuat", data={"csrf_token": token((await reception.case(code)).text)}
        )
        assert out.status_code == 303
        assert (await reception.http.get("/can-bo")).status_code == 303


async def test_supplement_refusal_and_rejection_forms(tmp_path: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        reception = await desk(p, "tiepnhan", STP, "reception")
        asked_code, refused_code = await submitted(p, citizen), await submitted(p, citizen)

        asked = await reception.act(
            asked_code,
            "request_supplement",
            items="Bản chụp Căn cước công dân rõ nét\n\nGiấy ủy quyền có chứng thực\n",
            note="Ảnh chụp bị mờ",
        )
        assert asked.status_code == 303, asked.text
        page = await reception.case(asked_code)
        assert "Chờ bổ sung hồ sơ" in page.text
        form02 = await reception.http.get(f"/can-bo/ho-so/{asked_code}/mau/02.html")
        assert form02.status_code == 200
        assert "<li>Bản chụp Căn cước công dân rõ nét</li>" in form02.text
        assert "<li>Giấy ủy quyền có chứng thực</li>" in form02.text

        empty = await reception.act(refused_code, "refuse", reason="  ")
        assert empty.status_code == 409 and "Vui lòng nêu lý do." in empty.text
        done = await reception.act(refused_code, "refuse", reason="Hồ sơ không thuộc thẩm quyền")
        assert done.status_code == 303
        assert await reception.actions(refused_code) == set()
        pdf = await reception.http.get(f"/can-bo/ho-so/{refused_code}/mau/03.pdf")
        assert pdf.status_code == 200
        text = " ".join(
            " ".join(
                page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages
            ).split()
        )
        assert "PHIẾU TỪ CHỐI TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ" in text
        assert "từ chối tiếp nhận" in text and "Hồ sơ không thuộc thẩm quyền" in text
        assert "Nguyễn Văn An" in text and refused_code in text


async def test_issuer_uploads_the_result(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        reception = await desk(p, "tiepnhan", STP, "reception")
        specialist = await desk(p, "chuyenvien", STP, "specialist")
        leader = await desk(p, "lanhdao", STP, "leader")
        issuer = await desk(p, "vanthu", STP, "issuer")
        code = await submitted(p, citizen)
        assert (await reception.act(code, "accept")).status_code == 303
        await reception.act(code, "record_counter_payment", receipt_no="BL-9", amount="200000")
        assert (await specialist.act(code, "approve")).status_code == 303
        assert (await leader.act(code, "approve")).status_code == 303
        assert await issuer.actions(code) == {"issue_result", "send_back"}
        page = await issuer.case(code)
        missing = await issuer.http.post(
            f"/can-bo/ho-so/{code}/issue_result",
            data={"csrf_token": token(page.text), "note": "x"},
        )
        assert missing.status_code == 422 and "Vui lòng đính kèm văn bản kết quả." in missing.text
        issued = await issuer.http.post(
            f"/can-bo/ho-so/{code}/issue_result",
            data={"csrf_token": token(page.text), "note": "Phiếu số 1", "idempotency_key": "r1"},
            files={"result": ("phieu-lltp.pdf", PDF_BYTES, "application/pdf")},
        )
        assert issued.status_code == 303, issued.text
        detail = (await p.http.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
        assert detail["status"] == "COMPLETED"
        result = await p.http.get(f"/api/v1/dossiers/{code}/result", headers=citizen)
        assert result.status_code == 200 and result.content == PDF_BYTES
        assert "Ban hành kết quả" in (await issuer.case(code)).text


async def test_leader_apologizes_once_with_a_new_appointment(tmp_path: Path) -> None:
    from datetime import timedelta

    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        reception = await desk(p, "tiepnhan", STP, "reception")
        leader = await desk(p, "lanhdao", STP, "leader")
        code = await submitted(p, citizen)
        assert (await reception.act(code, "accept")).status_code == 303
        await reception.act(code, "record_counter_payment", receipt_no="BL-2", amount="200000")
        assert "apologize" not in await leader.actions(code)
        # Let the case run late: the deadline timers fire, the apology opens.
        for _ in range(40):
            await p.env.sleep(timedelta(days=1))
            if "apologize" in await leader.actions(code):
                break
        assert "apologize" in await leader.actions(code)
        page = (await leader.case(code)).text
        suggested = re.search(r'name="new_due" value="([^"]+)"', page)
        assert suggested and suggested.group(1)
        done = await leader.act(
            code, "apologize", new_due=suggested.group(1), reason="Chờ kết quả xác minh"
        )
        assert done.status_code == 303, done.text
        assert "apologize" not in await leader.actions(code)
        page = (await leader.case(code)).text
        assert "Xin lỗi, hẹn lại ngày trả" in page
        form04 = await leader.http.get(f"/can-bo/ho-so/{code}/mau/04.html")
        assert form04.status_code == 200
        assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in form04.text
        assert "Chờ kết quả xác minh" in form04.text
