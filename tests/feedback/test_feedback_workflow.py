"""FeedbackWorkflow in the time-skipping test server: working-day deadlines across a
weekend and the 30/4–1/5 holidays, at-risk and overdue notices, the answer Update."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dichvucong.activities.deadlines import DeadlineActivities
from dichvucong.calendar import WorkCalendar
from dichvucong.db.engine import Database
from dichvucong.db.migrate import upgrade
from dichvucong.db.models import Notification
from dichvucong.feedback import FEEDBACK_WORKFLOWS
from dichvucong.feedback.activities import FeedbackActivities
from dichvucong.feedback.messages import FeedbackAnswerInput, FeedbackInput, FeedbackState
from dichvucong.feedback.models import Feedback
from dichvucong.feedback.workflow import FeedbackWorkflow
from tests.workflows.harness import time_skipping_server_path as server_path
from tests.workflows.harness import vn

AGENCY = "000.00.12.H19"


def close(moment: datetime | None, expected: datetime) -> bool:
    """The test server's clock lands a few milliseconds after the moment it skipped to."""
    return moment is not None and abs(moment - expected) < timedelta(seconds=1)


@dataclass
class FeedbackHarness:
    env: WorkflowEnvironment
    db: Database
    task_queue: str

    @property
    def client(self) -> Client:
        return self.env.client

    async def travel_to(self, moment: datetime) -> None:
        now = (await self.env.get_current_time()).astimezone(UTC)
        assert moment >= now, f"the test clock is already past {moment}"
        await self.env.sleep(moment - now)

    async def submit(
        self, received_at: datetime, *, citizen_id: int | None = 7, kind: str = "question"
    ) -> WorkflowHandle[FeedbackWorkflow, FeedbackState]:
        code = f"PAKN-{uuid.uuid4().hex[:8].upper()}"
        with self.db.session() as session:
            session.add(
                Feedback(
                    code=code,
                    kind=kind,
                    agency_code=AGENCY,
                    procedure_code="ly-lich-tu-phap",
                    citizen_id=citizen_id,
                    subject="Hỏi về thời hạn cấp phiếu",
                    body="Bao lâu có kết quả?",
                    received_at=received_at,
                )
            )
            session.commit()
        return await self.client.start_workflow(
            FeedbackWorkflow.run,
            FeedbackInput(
                code=code,
                agency_code=AGENCY,
                received_at=received_at,
                subject="Hỏi về thời hạn cấp phiếu",
                answer_days=3,
                citizen_id=citizen_id,
            ),
            id=code,
            task_queue=self.task_queue,
        )

    def row(self, code: str) -> Feedback:
        with self.db.session() as session:
            row = session.exec(select(Feedback).where(Feedback.code == code)).one()
            return row

    def notices(self, code: str) -> list[tuple[int, str, str]]:
        with self.db.session() as session:
            rows = session.exec(select(Notification).where(Notification.dossier_code == code))
            return sorted((n.seq, n.kind, n.recipient) for n in rows)


@asynccontextmanager
async def feedback_harness(tmp_path: Path) -> AsyncIterator[FeedbackHarness]:
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    upgrade(url)
    db = Database(url)
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=server_path())
    task_queue = f"fb-{uuid.uuid4()}"
    worker = Worker(
        env.client,
        task_queue=task_queue,
        workflows=FEEDBACK_WORKFLOWS,
        activities=[
            DeadlineActivities(WorkCalendar()).plan_deadline,
            *FeedbackActivities(db).all(),
        ],
        activity_executor=ThreadPoolExecutor(max_workers=4),
    )
    try:
        async with worker:
            yield FeedbackHarness(env=env, db=db, task_queue=task_queue)
    finally:
        await env.shutdown()
        db.dispose()


async def test_deadline_across_the_holidays_then_overdue_then_late_answer(tmp_path: Path) -> None:
    async with feedback_harness(tmp_path) as h:
        # Thu 29/4/2027 10:00. Fri 30/4 holiday, Sat 1/5 holiday (so Mon 3/5 off in lieu),
        # Sun 2/5: the 3 working days are Tue 4/5, Wed 5/5, Thu 6/5 -> due Thu 6/5 10:00.
        received = vn(2027, 4, 29, 10, 0)
        await h.travel_to(received)
        handle = await h.submit(received)
        await h.env.sleep(timedelta(seconds=1))
        state = await handle.query(FeedbackWorkflow.state)
        assert state.due_at == vn(2027, 5, 6, 10, 0)
        assert state.warn_at == vn(2027, 5, 5, 10, 0)  # one working day before
        assert h.row(handle.id).due_at == vn(2027, 5, 6, 10, 0)
        roles = [f"agency:{AGENCY}:{r}" for r in ("leader", "reception", "supervisor")]
        assert h.notices(handle.id) == [(0, "feedback_received", r) for r in roles]

        await h.travel_to(vn(2027, 5, 5, 9, 59))
        assert [n for n in h.notices(handle.id) if n[0] == 1] == []
        await h.travel_to(vn(2027, 5, 5, 10, 1))
        assert [n for n in h.notices(handle.id) if n[0] == 1] == [
            (1, "feedback_at_risk", r) for r in roles
        ]
        assert not h.row(handle.id).overdue

        await h.travel_to(vn(2027, 5, 6, 10, 1))
        assert (await handle.query(FeedbackWorkflow.state)).overdue
        assert h.row(handle.id).overdue
        assert [n for n in h.notices(handle.id) if n[0] == 2] == [
            (2, "feedback_overdue", r) for r in roles
        ]

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                FeedbackWorkflow.answer, FeedbackAnswerInput(text="   ", official_id="u1")
            )
        assert "nhập nội dung" in str(refused.value.cause)

        await h.travel_to(vn(2027, 5, 7, 8, 0))
        state = await handle.execute_update(
            FeedbackWorkflow.answer,
            FeedbackAnswerInput(text="Kết quả trong 10 ngày làm việc.", official_id="u1"),
        )
        assert state.status == "ANSWERED" and state.answered_by == "u1"
        assert close(state.answered_at, vn(2027, 5, 7, 8, 0))
        assert not state.published
        result = await handle.result()
        assert result.status == "ANSWERED"
        row = h.row(handle.id)
        assert row.status == "ANSWERED" and row.answer == "Kết quả trong 10 ngày làm việc."
        assert close(row.answered_at, vn(2027, 5, 7, 8, 0)) and row.overdue
        assert (3, "feedback_answered", "citizen:7") in h.notices(handle.id)
        with h.db.session() as session:
            answered = session.exec(
                select(Notification).where(
                    Notification.dossier_code == handle.id, Notification.seq == 3
                )
            ).one()
        # The answer itself, since no dossier page stands behind a feedback code.
        assert answered.body.endswith("Kết quả trong 10 ngày làm việc.")

        # The case is closed once answered: a second answer is refused by the server.
        with pytest.raises((WorkflowUpdateFailedError, RPCError)):
            await handle.execute_update(
                FeedbackWorkflow.answer, FeedbackAnswerInput(text="Lần nữa", official_id="u2")
            )


async def test_received_on_a_saturday_holiday_answered_in_time_and_published(
    tmp_path: Path,
) -> None:
    async with feedback_harness(tmp_path) as h:
        # Sat 1/5/2027 (holiday) 10:00 -> received from Tue 4/5 07:00 (Sun 2/5, Mon 3/5 off);
        # 3 working days: Wed 5/5, Thu 6/5, Fri 7/5 -> due Fri 7/5 07:00.
        received = vn(2027, 5, 1, 10, 0)
        await h.travel_to(received)
        handle = await h.submit(received, citizen_id=None, kind="report")
        await h.env.sleep(timedelta(seconds=1))
        state = await handle.query(FeedbackWorkflow.state)
        assert state.due_at == vn(2027, 5, 7, 7, 0)
        assert state.warn_at == vn(2027, 5, 6, 7, 0)

        await h.travel_to(vn(2027, 5, 4, 14, 0))
        state = await handle.execute_update(
            FeedbackWorkflow.answer,
            FeedbackAnswerInput(
                text="Đã chấn chỉnh bộ phận một cửa.", official_id="u9", publish=True
            ),
        )
        assert state.published and not state.overdue
        await h.travel_to(vn(2027, 5, 10, 8, 0))  # no notice fires after the answer
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
        kinds = {n[1] for n in h.notices(handle.id)}
        assert kinds == {"feedback_received"}  # no account, no contact left: nobody to tell
        row = h.row(handle.id)
        assert row.published and not row.overdue and close(row.answered_at, vn(2027, 5, 4, 14, 0))


def test_notify_feedback_is_idempotent(tmp_path: Path) -> None:
    from dichvucong.feedback.messages import FeedbackNotice

    url = f"sqlite:///{tmp_path / 'n.db'}"
    upgrade(url)
    db = Database(url)
    acts = FeedbackActivities(db)
    notice = FeedbackNotice(
        code="PAKN-1",
        seq=1,
        kind="feedback_at_risk",
        audience="agency",
        agency_code=AGENCY,
        subject="S",
        roles=["leader", "leader", "reception"],
        due_at=vn(2027, 5, 6, 10, 0),
    )
    assert acts.notify_feedback(notice) == 2
    assert acts.notify_feedback(notice) == 0
    db.dispose()
