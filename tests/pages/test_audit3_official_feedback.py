"""The officials' feedback pages (phản ánh, kiến nghị) over HTTP, with the real
FeedbackWorkflow and its activities on the time-skipping server: the agency's list
(not another agency's; the provincial office's supervisors see all), the item with its
body and contact (an audited read), the answer form through the workflow's Update,
a second answer refused in Vietnamese, and the feedback_received notice on the
notices page."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from sqlmodel import select

from dichvucong.accounts.officials import OfficialAccount
from dichvucong.feedback.activities import FeedbackActivities
from dichvucong.feedback.models import Feedback
from dichvucong.security.models import AuditEvent
from tests.api.portal import COMMUNE, STP, Portal, portal
from tests.pages.test_official_pages import desk, token

VISITOR = {"contact_name": "Trần Thị Bích", "contact_email": "bich@example.vn"}


def feedback_portal(tmp_path: Path) -> AbstractAsyncContextManager[Portal]:
    """tests.api.portal's app and worker, the worker also running FeedbackActivities."""
    return portal(tmp_path, extra_activities=lambda db: FeedbackActivities(db).all())


async def send_feedback(p: Portal, agency: str, subject: str, body: str) -> str:
    answer = await p.http.post(
        "/api/v1/feedback",
        json={"kind": "report", "subject": subject, "body": body, "agency_code": agency,
              **VISITOR},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    code = answer.json()["code"]
    for _ in range(200):  # the workflow's first activity records the due moment
        if row(p, code).due_at is not None:
            return code
        await asyncio.sleep(0.05)
    raise AssertionError(f"{code} never got its due moment")


def row(p: Portal, code: str) -> Feedback:
    with p.db.session() as session:
        return session.exec(select(Feedback).where(Feedback.code == code)).one()


def feedback_reads(p: Portal, code: str) -> list[dict[str, Any]]:
    with p.db.session() as session:
        events = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "read_personal_data", AuditEvent.dossier_code == code
            )
        ).all()
    return [e.detail for e in events if (e.detail or {}).get("what") == "feedback_page"]


async def test_officials_list_read_and_answer_their_agencys_feedback(tmp_path: Path) -> None:
    async with feedback_portal(tmp_path) as p:
        ours = await send_feedback(p, STP, "Thái độ tiếp nhận", "Cán bộ hẹn ba lần chưa có phiếu.")
        theirs = await send_feedback(p, COMMUNE, "Giờ làm việc", "Bộ phận một cửa đóng cửa sớm.")
        reception = await desk(p, "tiepnhan", STP, "reception")
        commune = await desk(p, "xa", COMMUNE, "reception")
        province = await desk(p, "giamsat", STP, "supervisor")

        # The list: the agency's own, newest first; the province office's supervisor: all.
        listing = await reception.http.get("/can-bo/phan-anh")
        assert listing.status_code == 200, listing.text
        assert ours in listing.text and theirs not in listing.text
        assert "Thái độ tiếp nhận" in listing.text and "Chờ trả lời" in listing.text
        assert 'href="/can-bo/phan-anh"' in listing.text  # the nav link
        other = (await commune.http.get("/can-bo/phan-anh")).text
        assert theirs in other and ours not in other
        everything = (await province.http.get("/can-bo/phan-anh")).text
        assert everything.index(theirs) < everything.index(ours)  # newest first

        # The item: its body and the contact, an audited read; another agency's is 404.
        assert feedback_reads(p, ours) == []
        page = await reception.http.get(f"/can-bo/phan-anh/{ours}")
        assert page.status_code == 200, page.text
        assert "Cán bộ hẹn ba lần chưa có phiếu." in page.text
        assert "Trần Thị Bích" in page.text and "bich@example.vn" in page.text
        assert feedback_reads(p, ours) == [{"what": "feedback_page", "agency": STP}]
        assert (await reception.http.get(f"/can-bo/phan-anh/{theirs}")).status_code == 404
        assert (await commune.http.get(f"/can-bo/phan-anh/{ours}")).status_code == 404

        # An empty answer is refused on the page, in Vietnamese, and nothing is sent.
        action = f"/can-bo/phan-anh/{ours}/tra-loi"
        empty = await reception.http.post(
            action, data={"csrf_token": token(page.text), "text": " "}
        )
        assert empty.status_code == 422 and "Vui lòng nhập nội dung trả lời." in empty.text
        assert row(p, ours).answered_at is None
        garbled = await reception.http.post(
            action, data={"csrf_token": token(page.text), "text": "Đã\x00 xử lý"}
        )
        assert garbled.status_code == 422 and "ký tự không hợp lệ" in garbled.text
        assert row(p, ours).answered_at is None

        # Another agency's official cannot answer it (the JSON API's rights, as a page).
        commune_page = await commune.http.get("/can-bo/phan-anh")
        foreign = await commune.http.post(
            action,
            data={"csrf_token": token(commune_page.text), "text": "Không phải việc của tôi."},
        )
        assert foreign.status_code == 403 and "Chỉ cán bộ của cơ quan" in foreign.text
        assert row(p, ours).answered_at is None

        # The answer goes through the workflow's Update and lands in the read model.
        sent = await reception.http.post(
            action,
            data={"csrf_token": token(page.text), "text": "Đã nhắc nhở cán bộ.", "publish": "1"},
        )
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"] == f"/can-bo/phan-anh/{ours}?da=tra-loi"
        answered = row(p, ours)
        assert answered.answer == "Đã nhắc nhở cán bộ." and answered.published
        assert answered.answered_by == str(answered_by_id(p, "tiepnhan"))
        shown = await reception.http.get(sent.headers["location"])
        assert "Đã gửi câu trả lời" in shown.text and "Đã nhắc nhở cán bộ." in shown.text
        assert 'action="/can-bo/phan-anh/' not in shown.text  # no second form

        # A second answer (a stale form) is refused with the reason, in Vietnamese.
        again = await reception.http.post(
            action, data={"csrf_token": token(page.text), "text": "Trả lời lần hai."}
        )
        assert again.status_code == 409
        assert "Phản ánh, kiến nghị này đã được trả lời." in again.text
        assert row(p, ours).answer == "Đã nhắc nhở cán bộ."

        # The workflow's feedback_received notice is on the agency's notices page.
        notices = await reception.http.get("/can-bo/thong-bao")
        assert notices.status_code == 200
        assert f'href="/can-bo/phan-anh/{ours}"' in notices.text
        assert theirs not in notices.text


def answered_by_id(p: Portal, username: str) -> int:
    with p.db.session() as session:
        official = session.exec(
            select(OfficialAccount).where(OfficialAccount.username == username)
        ).one()
    assert official.id is not None
    return official.id
