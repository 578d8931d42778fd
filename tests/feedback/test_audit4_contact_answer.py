"""The answer to feedback sent without an account reaches the contact its sender left
(audit 4): FeedbackWorkflow in the time-skipping test server, the real notify
activity, email over SMTP to a real aiosmtpd server, SMS to the development sink.

The address is read from the feedback row by the channels ("contact:<code>"
recipient), so it is in no activity input and nowhere in the workflow's history; a
case that passed the answer before the change replays as it ran."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from dichvucong.activities.deadlines import DeadlineActivities
from dichvucong.calendar import WorkCalendar
from dichvucong.db.engine import Database
from dichvucong.db.models import CitizenAccount, Notification
from dichvucong.feedback import FEEDBACK_WORKFLOWS
from dichvucong.feedback.activities import FeedbackActivities
from dichvucong.feedback.messages import (
    SEQ_ANSWERED,
    FeedbackAnswerInput,
    FeedbackInput,
    FeedbackNotice,
    FeedbackState,
)
from dichvucong.feedback.models import Feedback
from dichvucong.feedback.workflow import CONTACT_ANSWER, FeedbackWorkflow
from dichvucong.integrations.email import EmailChannel
from dichvucong.integrations.sms import SmsChannel, SmsSink
from dichvucong.simulators.mail import DevSmtpServer, MailStore, start_dev_smtp
from tests.workflows.harness import time_skipping_server_path as server_path
from tests.workflows.harness import vn

AGENCY = "000.00.12.H19"
BASE = "http://dvc.test"
SUBJECT = "Bộ phận một cửa hẹn trả sai ngày"
ANSWER = "Đã chấn chỉnh bộ phận một cửa; hồ sơ của ông/bà được trả ngày 12/5."
HISTORIES = Path(__file__).parent / "histories"


@pytest.fixture
def smtp(free_port: Callable[..., int]) -> Iterator[DevSmtpServer]:
    with start_dev_smtp("127.0.0.1", free_port(), MailStore()) as server:
        yield server


@dataclass
class Harness:
    env: WorkflowEnvironment
    db: Database
    task_queue: str
    activities: FeedbackActivities
    sms: SmsSink

    async def submit(
        self,
        *,
        citizen_id: int | None = None,
        name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
    ) -> WorkflowHandle[FeedbackWorkflow, FeedbackState]:
        received = vn(2027, 5, 10, 9, 0)  # a Monday
        now = await self.env.get_current_time()
        if now < received:
            await self.env.sleep(received - now)
        code = f"PAKN-{AGENCY}-270510-{uuid.uuid4().hex[:6].upper()}"
        with self.db.session() as session:
            session.add(Feedback(code=code, kind="report", agency_code=AGENCY,
                                 citizen_id=citizen_id, contact_name=name,
                                 contact_email=email, contact_phone=phone,
                                 subject=SUBJECT, body="Hẹn ngày 5/5 nhưng chưa có.",
                                 received_at=received))  # fmt: skip
            session.commit()
        return await self.env.client.start_workflow(
            FeedbackWorkflow.run,
            FeedbackInput(code=code, agency_code=AGENCY, received_at=received, subject=SUBJECT,
                          citizen_id=citizen_id),  # fmt: skip
            id=code,
            task_queue=self.task_queue,
        )

    async def answer(self, handle: WorkflowHandle[FeedbackWorkflow, FeedbackState]) -> None:
        await self.env.sleep(timedelta(hours=2))
        await handle.execute_update(
            FeedbackWorkflow.answer, FeedbackAnswerInput(text=ANSWER, official_id="u9")
        )
        assert (await handle.result()).status == "ANSWERED"

    def answered_notices(self, code: str) -> list[tuple[str, str]]:
        with self.db.session() as session:
            rows = session.exec(select(Notification).where(
                Notification.dossier_code == code, Notification.seq == SEQ_ANSWERED))  # fmt: skip
            return sorted((n.channel, n.recipient) for n in rows)

    def retry_answer_notice(self, code: str, citizen_id: int | None = None) -> int:
        """What a retried notify_feedback attempt does (same input as the workflow's)."""
        return self.activities.notify_feedback(FeedbackNotice(
            code=code, seq=SEQ_ANSWERED, kind="feedback_answered", audience="citizen",
            agency_code=AGENCY, subject=SUBJECT, citizen_id=citizen_id))  # fmt: skip


@asynccontextmanager
async def harness(db: Database, smtp: DevSmtpServer) -> AsyncIterator[Harness]:
    sms = SmsSink()
    channels = [EmailChannel(db, host=smtp.host, port=smtp.port, public_base_url=BASE),
                SmsChannel(db, sms, public_base_url=BASE)]  # fmt: skip
    activities = FeedbackActivities(db, channels=channels)
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=server_path())
    task_queue = f"fb-contact-{uuid.uuid4()}"
    worker = Worker(
        env.client,
        task_queue=task_queue,
        workflows=FEEDBACK_WORKFLOWS,
        activities=[DeadlineActivities(WorkCalendar()).plan_deadline, *activities.all()],
        activity_executor=ThreadPoolExecutor(max_workers=4),
    )
    try:
        async with worker:
            yield Harness(env=env, db=db, task_queue=task_queue, activities=activities, sms=sms)
    finally:
        await env.shutdown()


def _history_bytes(history: WorkflowHistory) -> bytes:
    return b"".join(event.SerializeToString() for event in history.events)


async def test_anonymous_feedback_answer_is_emailed_once_to_its_contact(
    db: Database, smtp: DevSmtpServer
) -> None:
    async with harness(db, smtp) as h:
        handle = await h.submit(name="Trần Thị Bích", email="bich@example.vn")
        await h.answer(handle)

        [mail] = smtp.store.messages()
        assert mail.rcpt_tos == ["bich@example.vn"]
        assert mail.subject == f"Phản ánh, kiến nghị {handle.id} đã được trả lời"
        text = mail.body("plain")
        assert "Kính gửi Trần Thị Bích," in text and ANSWER in text
        assert f"Mã phản ánh, kiến nghị: {handle.id}" in text  # not a dossier's wording
        assert "Mã hồ sơ" not in text and "hồ sơ có thay đổi" not in text
        assert h.answered_notices(handle.id) == [
            ("email", f"contact:{handle.id}"),
            ("inapp", f"contact:{handle.id}"),
            ("sms", f"contact:{handle.id}"),
        ]
        assert h.sms.messages() == []  # no phone left: no SMS

        # A retried attempt of the notice sends nothing more.
        assert h.retry_answer_notice(handle.id) == 0
        assert len(smtp.store.messages()) == 1

        # The address stayed in the read model: not in any input, nor in the history.
        history = await handle.fetch_history()
        assert b"bich@example.vn" not in _history_bytes(history)
        await Replayer(workflows=FEEDBACK_WORKFLOWS).replay_workflow(history)


async def test_anonymous_feedback_with_only_a_phone_gets_the_sms(
    db: Database, smtp: DevSmtpServer
) -> None:
    async with harness(db, smtp) as h:
        handle = await h.submit(name="Lê Văn Cường", phone="0912345678")
        await h.answer(handle)

        [sms] = h.sms.messages()
        assert sms.to == "0912345678" and sms.dossier_code == handle.id
        assert sms.text == f"DVC Dong Nai: Phan anh {handle.id} da duoc tra loi."
        assert smtp.store.messages() == []  # no email left: no email
        assert h.retry_answer_notice(handle.id) == 0
        assert len(h.sms.messages()) == 1
        assert b"0912345678" not in _history_bytes(await handle.fetch_history())


async def test_a_citizens_own_feedback_still_goes_to_their_account(
    db: Database, smtp: DevSmtpServer
) -> None:
    with db.session() as session:
        citizen = CitizenAccount(full_name="Trần Thị Hoà", id_number="075190000999",
                                 date_of_birth=date(1990, 1, 2), phone="0987654321",
                                 email="hoa.tran@example.vn", address="Biên Hòa",
                                 password_hash="x")  # fmt: skip
        session.add(citizen)
        session.commit()
        citizen_id = citizen.id
    assert citizen_id is not None
    async with harness(db, smtp) as h:
        handle = await h.submit(citizen_id=citizen_id)
        await h.answer(handle)

        [mail] = smtp.store.messages()
        assert mail.rcpt_tos == ["hoa.tran@example.vn"]
        assert "Kính gửi Trần Thị Hoà," in mail.body("plain") and ANSWER in mail.body("plain")
        [sms] = h.sms.messages()
        assert sms.to == "0987654321"
        assert {r for _, r in h.answered_notices(handle.id)} == {f"citizen:{citizen_id}"}
        assert h.retry_answer_notice(handle.id, citizen_id) == 0
        assert len(smtp.store.messages()) == 1 and len(h.sms.messages()) == 1


def test_anonymous_feedback_without_a_contact_notifies_nobody(db: Database) -> None:
    with db.session() as session:
        session.add(Feedback(code="PAKN-X-1", agency_code=AGENCY, subject=SUBJECT, body="…",
                             received_at=vn(2027, 5, 10, 9, 0)))  # fmt: skip
        session.commit()
    activities = FeedbackActivities(db)
    notice = FeedbackNotice(code="PAKN-X-1", seq=SEQ_ANSWERED, kind="feedback_answered",
                            audience="citizen", agency_code=AGENCY, subject=SUBJECT)  # fmt: skip
    assert activities.notify_feedback(notice) == 0


async def test_a_case_answered_before_the_change_replays_as_it_ran() -> None:
    """Recorded with the code before contact-answer-v1: an anonymous case answered with
    no notice to anybody. Today's code must not ask for a notice on replay."""
    path = HISTORIES / "anonymous_answered.before-contact-answer.json"
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    assert CONTACT_ANSWER.encode() not in _history_bytes(history)
    await Replayer(workflows=FEEDBACK_WORKFLOWS).replay_workflow(history)
