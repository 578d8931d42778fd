"""Supplements stop and restart the clock; deadlines warn, flag overdue, allow one apology."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from dichvucong.activities.contracts import DeadlineRequest
from dichvucong.activities.deadlines import DeadlineActivities
from dichvucong.calendar import WorkCalendar
from dichvucong.db.models import Dossier, DossierDocument, DossierEvent, Notification
from dichvucong.search_attributes import OVERDUE
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import (
    AcceptInput,
    ApologizeInput,
    DocumentRef,
    RequestSupplementInput,
    SupplementInput,
)

from .harness import Harness, dossier_input, harness, vn
from .test_dossier_lifecycle import LEADER, RECEPTION, SPECIALIST
from .test_dossier_payment_delivery import _process_to_result as process_to_result

EXTRA = DocumentRef(sha256="c" * 64, size=99, media_type="image/jpeg", slot="cccd", name="cccd.jpg")


async def test_supplement_at_reception_then_accept(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start, applicant_id=5))
        state = await handle.execute_update(
            DossierWorkflow.request_supplement,
            RequestSupplementInput(
                items=["Bản sao CCCD", "Ảnh 4x6"], note="Bổ sung một lần", actor=RECEPTION
            ),
        )
        assert state.status == "SUPPLEMENT_REQUESTED"
        assert state.pending_supplement_items == ["Bản sao CCCD", "Ảnh 4x6"]
        # Counted: more than one request in all, reception included, makes the case late.
        assert state.supplement_count == 1

        await h.travel_to(vn(2027, 1, 13, 10, 0))
        await handle.signal(DossierWorkflow.supplement, SupplementInput(documents=[EXTRA]))
        await h.env.sleep(timedelta(seconds=1))
        assert (await handle.query(DossierWorkflow.state)).status == "SUBMITTED"
        state = await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        # counted from this reception (Wed 13 Jan 10:00), not from the first submission
        assert state.due_at == vn(2027, 1, 27, 10, 0)
        with h.db.session() as session:
            kinds = {
                (d.kind, d.slot)
                for d in session.exec(
                    select(DossierDocument).where(DossierDocument.dossier_code == handle.id)
                )
            }
            assert ("supplement", "cccd") in kinds
            notes = session.exec(
                select(Notification).where(
                    Notification.dossier_code == handle.id, Notification.seq == 1
                )
            ).all()
            assert len(notes) == 1 and "Bản sao CCCD; Ảnh 4x6" in notes[0].body


async def test_supplement_during_processing_restarts_the_clock_from_zero(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start))
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await h.travel_to(vn(2027, 1, 14, 9, 0))
        state = await handle.execute_update(
            DossierWorkflow.request_supplement,
            RequestSupplementInput(items=["Giấy xác nhận cư trú"], actor=SPECIALIST),
        )
        assert (state.status, state.supplement_count) == ("SUPPLEMENT_REQUESTED", 1)
        # Three weeks waiting for the citizen: no deadline runs meanwhile.
        await h.travel_to(vn(2027, 2, 1, 14, 0))
        state = await handle.query(DossierWorkflow.state)
        assert (state.status, state.overdue) == ("SUPPLEMENT_REQUESTED", False)
        await handle.signal(DossierWorkflow.supplement, SupplementInput(documents=[EXTRA]))
        await h.env.sleep(timedelta(seconds=1))
        state = await handle.query(DossierWorkflow.state)
        assert (state.status, state.step) == ("PROCESSING", "tham_dinh")
        # Ten fresh working days from Mon 1 Feb 14:00, across Tết 2027: Mon 22 Feb 14:00.
        assert state.due_at == vn(2027, 2, 22, 14, 0)
        assert [d.reason for d in state.due_history] == ["received", "supplement_restart"]
        with h.db.session() as session:
            row = session.get(Dossier, handle.id)
            assert row is not None
            assert (row.supplement_count, row.due_at) == (1, vn(2027, 2, 22, 14, 0))


async def test_supplement_window_expiry_closes_the_dossier(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start))
        await handle.execute_update(
            DossierWorkflow.request_supplement,
            RequestSupplementInput(items=["Tờ khai"], actor=RECEPTION),
        )
        outcome = await handle.result()  # the test server skips the 30 working days
        assert outcome.status == "WITHDRAWN"


def test_a_short_limit_warns_halfway_not_at_reception() -> None:
    """One working day's warning before the due moment would flag a same-day (8 working
    hours) procedure as it is received: it warns when half of its time has passed."""
    plan = DeadlineActivities(WorkCalendar()).plan_deadline
    monday_9 = vn(2027, 1, 11, 9, 0)
    same_day = plan(DeadlineRequest(start=monday_9, working_hours=8, warn_days=1))
    assert same_day.due_at == vn(2027, 1, 12, 9, 0)
    assert same_day.warn_at == vn(2027, 1, 11, 15, 0)  # 9–11 and 13–15: four office hours
    half_day = plan(DeadlineRequest(start=monday_9, working_days=0.5, warn_days=1))
    assert (half_day.due_at, half_day.warn_at) == (vn(2027, 1, 11, 15, 0), vn(2027, 1, 11, 11, 0))
    # A long limit keeps the one working day's notice.
    ten_days = plan(DeadlineRequest(start=monday_9, working_days=10, warn_days=1))
    assert (ten_days.due_at, ten_days.warn_at) == (vn(2027, 1, 25, 9, 0), vn(2027, 1, 22, 9, 0))


def test_a_same_day_limit_is_due_at_the_close_of_the_day_of_reception() -> None:
    """Decree 23/2015, art. 7: within the day of reception, the next working day when
    received after 15:00 — not 8 working hours (which ran into the next morning)."""
    plan = DeadlineActivities(WorkCalendar()).plan_deadline

    def same_day(start):
        return plan(DeadlineRequest(start=start, same_day=True, warn_days=1, cutoff="15:00"))

    monday = same_day(vn(2027, 1, 11, 9, 0))
    assert monday.due_at == vn(2027, 1, 11, 17, 0)
    # Six office hours to 17:00 (9–11:30, 13:30–17): warned after three, not at once.
    assert monday.warn_at == vn(2027, 1, 11, 14, 0)
    assert same_day(vn(2027, 1, 11, 15, 0)).due_at == vn(2027, 1, 11, 17, 0)
    late = same_day(vn(2027, 1, 11, 15, 1))
    assert (late.starts_at, late.due_at) == (vn(2027, 1, 12, 7, 0), vn(2027, 1, 12, 17, 0))
    lunch = same_day(vn(2027, 1, 11, 12, 0))
    assert (lunch.starts_at, lunch.due_at) == (vn(2027, 1, 11, 13, 30), vn(2027, 1, 11, 17, 0))
    # Friday after the cut-off: the Monday; the day before Tết Đinh Mùi: after it.
    assert same_day(vn(2027, 1, 15, 16, 0)).due_at == vn(2027, 1, 18, 17, 0)
    assert same_day(vn(2027, 2, 4, 16, 0)).due_at == vn(2027, 2, 11, 17, 0)


async def test_an_online_same_day_dossier_received_late_is_due_the_next_day(
    tmp_path: Path,
) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 15, 30)
        await h.travel_to(start)
        inp = dossier_input(h.new_code(), start, time_limit_days=None, time_limit_same_day=True)
        handle = await h.start(inp)
        state = await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        assert state.due_at == vn(2027, 1, 12, 17, 0)


async def _actions(h: Harness, code: str) -> list[str]:
    await h.env.sleep(timedelta(seconds=1))  # the read model's projection activity
    with h.db.session() as session:
        events = session.exec(
            select(DossierEvent).where(DossierEvent.dossier_code == code).order_by(DossierEvent.seq)
        )
        return [e.action for e in events]


async def test_a_same_day_case_is_not_at_risk_when_accepted(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        inp = dossier_input(h.new_code(), start, time_limit_days=None, time_limit_hours=8)
        handle = await h.start(inp)
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await h.env.sleep(timedelta(minutes=5))
        assert await _actions(h, handle.id) == ["submit", "accept"]
        await h.travel_to(vn(2027, 1, 11, 15, 30))
        assert await _actions(h, handle.id) == ["submit", "accept", "at_risk"]


async def test_at_risk_overdue_and_a_single_apology(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start))
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        with pytest.raises(WorkflowUpdateFailedError) as early:
            await handle.execute_update(
                DossierWorkflow.apologize,
                ApologizeInput(new_due=vn(2027, 1, 29, 9, 0), reason="Cần xác minh", actor=LEADER),
            )
        assert "sắp đến hạn" in str(early.value.cause)

        # One working day before Mon 25 Jan 09:00 is Fri 22 Jan 09:00: the at-risk notice.
        await h.travel_to(vn(2027, 1, 22, 9, 30))
        state = await handle.query(DossierWorkflow.state)
        assert state.overdue is False
        assert "apologize" in state.allowed_actions["leader"]
        await h.travel_to(vn(2027, 1, 25, 9, 30))
        state = await handle.query(DossierWorkflow.state)
        assert (state.overdue, state.was_overdue) == (True, True)
        assert (await handle.describe()).typed_search_attributes.get(OVERDUE) is True
        with h.db.session() as session:
            kinds = sorted(
                (n.kind, n.recipient)
                for n in session.exec(
                    select(Notification).where(
                        Notification.dossier_code == handle.id, Notification.channel == "inapp"
                    )
                )
            )
        assert ("at_risk", "agency:000.00.12.H19:specialist") in kinds
        assert ("overdue", "agency:000.00.12.H19:supervisor") in kinds

        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(
                DossierWorkflow.apologize,
                ApologizeInput(new_due=vn(2027, 1, 20, 9, 0), reason="Ngày cũ", actor=LEADER),
            )
        state = await handle.execute_update(
            DossierWorkflow.apologize,
            ApologizeInput(
                new_due=vn(2027, 1, 29, 16, 0), reason="Chờ kết quả xác minh", actor=LEADER
            ),
        )
        assert (state.due_at, state.overdue, state.apology_used) == (
            vn(2027, 1, 29, 16, 0),
            False,
            True,
        )
        assert [d.reason for d in state.due_history] == ["received", "apology"]
        with pytest.raises(WorkflowUpdateFailedError) as second:
            await handle.execute_update(
                DossierWorkflow.apologize,
                ApologizeInput(new_due=vn(2027, 2, 3, 9, 0), reason="Lần hai", actor=LEADER),
            )
        assert "một lần" in str(second.value.cause)

        await process_to_result(handle)
        outcome = await handle.result()
        # finished before the new appointment, but it was overdue: late stays late
        assert (outcome.status, outcome.timeliness) == ("COMPLETED", "late")
        with h.db.session() as session:
            row = session.get(Dossier, handle.id)
            assert row is not None and (row.timeliness, row.was_overdue, row.overdue) == (
                "late",
                True,
                False,
            )


async def test_two_supplement_requests_count_as_late(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start))
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        for _ in range(2):
            await handle.execute_update(
                DossierWorkflow.request_supplement,
                RequestSupplementInput(items=["Tờ khai"], actor=SPECIALIST),
            )
            await handle.signal(DossierWorkflow.supplement, SupplementInput())
            await h.env.sleep(timedelta(seconds=1))
        await process_to_result(handle)
        outcome = await handle.result()
        assert outcome.timeliness == "late"  # Decision 766: more than one supplement request


async def _refusal(update: object) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await update  # type: ignore[misc]
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.message


async def test_a_paper_dossier_received_after_15_00_starts_the_next_working_day(
    tmp_path: Path,
) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 15, 40)
        await h.travel_to(start)
        for received, due in (
            (vn(2027, 1, 11, 14, 0), vn(2027, 1, 25, 14, 0)),  # before the cut-off: that day
            (vn(2027, 1, 11, 15, 30), vn(2027, 1, 26, 7, 0)),  # after: Tue 12 Jan 07:00 + 10
        ):
            handle = await h.start(dossier_input(h.new_code(), received, channel="counter"))
            state = await handle.execute_update(
                DossierWorkflow.accept, AcceptInput(actor=RECEPTION, received_at=received)
            )
            assert state.due_at == due
        online = await h.start(dossier_input(h.new_code(), start))
        state = await online.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        assert state.due_at == vn(2027, 1, 25, 15, 40)  # online: no cut-off, office hours only


async def test_reception_asks_for_a_supplement_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start))
        ask = RequestSupplementInput(items=["Tờ khai"], actor=RECEPTION)
        await handle.execute_update(DossierWorkflow.request_supplement, ask)
        await handle.signal(DossierWorkflow.supplement, SupplementInput())
        await h.env.sleep(timedelta(seconds=1))
        assert (await handle.query(DossierWorkflow.state)).status == "SUBMITTED"
        again = await _refusal(handle.execute_update(DossierWorkflow.request_supplement, ask))
        assert again.startswith("Hồ sơ đã được yêu cầu bổ sung một lần khi tiếp nhận")
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        # One more during processing: two in all, so the case is late however fast it ends.
        await handle.execute_update(
            DossierWorkflow.request_supplement,
            RequestSupplementInput(items=["Giấy xác nhận cư trú"], actor=SPECIALIST),
        )
        await handle.signal(DossierWorkflow.supplement, SupplementInput())
        await h.env.sleep(timedelta(seconds=1))
        await process_to_result(handle)
        assert (await handle.result()).timeliness == "late"


async def test_processing_asks_for_a_supplement_within_3_working_days_of_reception(
    tmp_path: Path,
) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 8, 9, 0)  # a Friday
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start))
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await h.travel_to(vn(2027, 1, 14, 8, 0))  # Thu: the 3rd working day was Wednesday
        late = await _refusal(
            handle.execute_update(
                DossierWorkflow.request_supplement,
                RequestSupplementInput(items=["Giấy xác nhận cư trú"], actor=SPECIALIST),
            )
        )
        assert late == (
            "Đã quá 3 ngày làm việc kể từ khi tiếp nhận (đến 17:00 13/01/2027): không còn được "
            "yêu cầu bổ sung hồ sơ."
        )
        assert (await handle.query(DossierWorkflow.state)).status == "PROCESSING"
