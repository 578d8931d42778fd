"""A worker dying mid-case, and recorded histories replayed against today's code."""

from __future__ import annotations

import asyncio
import json
import os
import time
import typing
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from dichvucong.activities.contracts import Shipment, ShipmentRequest
from dichvucong.activities.deadlines import DeadlineActivities
from dichvucong.activities.notify import NotifyActivities
from dichvucong.activities.records import RecordActivities
from dichvucong.calendar.work_calendar import VN_TZ
from dichvucong.db.models import DossierEvent, Notification
from dichvucong.search_attributes import CASE_STATUS, CURRENT_STEP, DUE_AT, STATUS_SINCE
from dichvucong.workflows import patches
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import (
    AcceptInput,
    ApologizeInput,
    ApproveInput,
    CaseRules,
    CounterPaymentInput,
    IssueResultInput,
    PaymentConfirmedInput,
    PostalUpdateInput,
    RedispatchInput,
    RequestSupplementInput,
    SendBackInput,
    SupplementInput,
)
from dichvucong.workflows.references import payment_reference

from .harness import RESULT, dossier_input, harness, vn
from .test_dossier_lifecycle import ISSUER, LEADER, RECEPTION, SPECIALIST

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


async def test_worker_killed_mid_dispatch_another_finishes_without_duplicates(
    tmp_path: Path,
) -> None:
    async with harness(tmp_path) as h:
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        code = h.new_code()
        sent = asyncio.Event()

        @activity.defn(name="dispatch_result")
        def dispatch_then_lose_answer(request: ShipmentRequest) -> Shipment:
            # The postal service creates the shipment, then the answer is lost and this
            # worker goes away: the retry, on another worker, must not ship twice.
            h.world.activities()[0](request)
            sent.set()
            raise ConnectionResetError("connection reset before the answer arrived")

        doomed = [a for a in h.activities() if getattr(a, "__name__", "") != "dispatch_result"]
        first = h.worker([*doomed, dispatch_then_lose_answer], sticky=False)
        handle = await h.start(
            dossier_input(
                code,
                start,
                delivery="postal",
                applicant_id=9,
                delivery_address="1 Đồng Khởi, Biên Hòa",
                rules=CaseRules(outside_call_seconds=2),
            )
        )
        async with first:
            await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
            await handle.execute_update(DossierWorkflow.approve, ApproveInput(actor=SPECIALIST))
            await handle.execute_update(DossierWorkflow.approve, ApproveInput(actor=LEADER))
            await handle.signal("issue_result", IssueResultInput(documents=[RESULT], actor=ISSUER))
            await asyncio.wait_for(sent.wait(), timeout=30)
        # first worker gone; the activity's start-to-close timeout passes, a new worker retries
        async with h.worker(sticky=False):
            # An attempt lost with the first worker times out (2 s, real time: the test
            # server never skips time while an activity is outstanding); then a retry here.
            state = await _wait_for_status(handle, "DISPATCHED", within_seconds=60)
            assert (state.status, state.tracking_number) == ("DISPATCHED", "VN000000001")
            await handle.signal(
                DossierWorkflow.postal_update,
                PostalUpdateInput(tracking_number="VN000000001", status="delivered"),
            )
            assert (await handle.result()).status == "COMPLETED"
        assert len(h.world.shipments) == 1
        assert len(h.world.shipment_calls) >= 2
        assert set(h.world.shipment_calls) == {f"{code}:ship:1"}
        with h.db.session() as session:
            events = session.exec(
                select(func.count())
                .select_from(DossierEvent)
                .where(DossierEvent.dossier_code == code)
            ).one()
            notices = session.exec(
                select(Notification.seq).where(
                    Notification.dossier_code == code, Notification.recipient == "citizen:9"
                )
            ).all()
        assert events == state.seq + 2  # every transition once, plus "delivered"
        assert len(notices) == len(set(notices))


async def _wait_for_status(handle, status: str, *, within_seconds: float):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_seconds
    while True:
        state = await handle.query(DossierWorkflow.state)
        if state.status == status or loop.time() > deadline:
            return state
        await asyncio.sleep(0.2)


# --- recorded histories -------------------------------------------------------------


async def _record_cases(tmp_path: Path) -> dict[str, str]:
    """Runs representative cases and returns their histories as JSON."""
    histories: dict[str, str] = {}
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)

        happy = await h.start(
            dossier_input(
                "000.00.12.H19-270111-0001",
                start,
                payment_stage="before_result",
                fee_amount=200_000,
                delivery="postal",
                delivery_address="Biên Hòa",
            )
        )
        await happy.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await happy.execute_update(DossierWorkflow.approve, ApproveInput(actor=SPECIALIST))
        await happy.execute_update(DossierWorkflow.approve, ApproveInput(actor=LEADER))
        await happy.execute_update(
            DossierWorkflow.issue_result, IssueResultInput(documents=[RESULT], actor=ISSUER)
        )
        await happy.signal(
            "payment_confirmed",
            {"payment_ref": "DVC0000012H192701110001", "amount": 200_000, "transaction_id": "T"},
        )
        await h.env.sleep(timedelta(seconds=1))
        await happy.signal(
            DossierWorkflow.postal_update,
            PostalUpdateInput(tracking_number="VN000000001", status="delivered"),
        )
        await happy.result()
        histories["postal_paid_before_result"] = (await happy.fetch_history()).to_json()

        # ``result()`` lets the test server skip time, and after the workflow closes it
        # may skip far ahead (to the run timeout): the second case starts from the clock.
        late = await h.start(dossier_input("000.00.12.H19-270111-0002", await h.now()))
        await late.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await late.execute_update(
            DossierWorkflow.request_supplement,
            RequestSupplementInput(items=["Tờ khai"], actor=SPECIALIST),
        )
        await late.signal(DossierWorkflow.supplement, SupplementInput())
        await h.env.sleep(timedelta(days=20))
        due = (await late.query(DossierWorkflow.state)).due_at
        assert due is not None
        await late.execute_update(
            DossierWorkflow.apologize,
            ApologizeInput(new_due=due + timedelta(days=35), reason="Chờ xác minh", actor=LEADER),
        )
        await late.execute_update(DossierWorkflow.approve, ApproveInput(actor=SPECIALIST))
        await late.execute_update(DossierWorkflow.approve, ApproveInput(actor=LEADER))
        await late.execute_update(
            DossierWorkflow.issue_result, IssueResultInput(documents=[RESULT], actor=ISSUER)
        )
        await late.result()
        histories["supplement_overdue_apology"] = (await late.fetch_history()).to_json()

        # Paid twice (counter, then the gateway: refunded), sent back a step, the post
        # returns the result, redispatched with a blank address (the one on file).
        begin = await h.now()
        twice = await h.start(
            dossier_input(
                "000.00.12.H19-270111-0003",
                begin,
                payment_stage="on_submission",
                fee_amount=200_000,
                delivery="postal",
                delivery_address="12 Võ Thị Sáu, Biên Hòa",
            )
        )
        await twice.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await twice.execute_update(
            DossierWorkflow.record_counter_payment,
            CounterPaymentInput(receipt_no="BL-0042", amount=200_000, actor=RECEPTION),
        )
        await twice.signal(
            DossierWorkflow.payment_confirmed,
            PaymentConfirmedInput(
                payment_ref=payment_reference("000.00.12.H19-270111-0003"),
                amount=200_000,
                transaction_id="T-ONLINE",
            ),
        )
        await h.env.sleep(timedelta(seconds=1))
        await twice.execute_update(DossierWorkflow.approve, ApproveInput(actor=SPECIALIST))
        await twice.execute_update(
            DossierWorkflow.send_back,
            SendBackInput(to_step="tham_dinh", reason="Thiếu xác minh", actor=LEADER),
        )
        await twice.execute_update(DossierWorkflow.approve, ApproveInput(actor=SPECIALIST))
        await twice.execute_update(DossierWorkflow.approve, ApproveInput(actor=LEADER))
        state = await twice.execute_update(
            DossierWorkflow.issue_result, IssueResultInput(documents=[RESULT], actor=ISSUER)
        )
        tracking = state.tracking_number
        await twice.signal(
            DossierWorkflow.postal_update,
            PostalUpdateInput(tracking_number=tracking, status="returned", note="Vắng nhà"),
        )
        await h.env.sleep(timedelta(seconds=1))
        state = await twice.execute_update(
            DossierWorkflow.redispatch, RedispatchInput(address="  ", actor=ISSUER)
        )
        await twice.signal(
            DossierWorkflow.postal_update,
            PostalUpdateInput(tracking_number=state.tracking_number, status="delivered"),
        )
        await twice.result()
        histories["refund_send_back_redispatch"] = (await twice.fetch_history()).to_json()

        # A same-day procedure filed online after the 15:00 cut-off, on the first
        # working day after the clock (which skipped ahead when the last case closed).
        day = (await h.now()).astimezone(VN_TZ).date() + timedelta(days=1)
        while not h.calendar.is_working_day(day):
            day += timedelta(days=1)
        late_day = vn(day.year, day.month, day.day, 15, 30)
        await h.travel_to(late_day)
        same_day = await h.start(
            dossier_input(
                "000.21.21.H19-270301-0001",
                late_day,
                time_limit_days=None,
                time_limit_same_day=True,
            )
        )
        await same_day.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await same_day.execute_update(DossierWorkflow.approve, ApproveInput(actor=SPECIALIST))
        await same_day.execute_update(DossierWorkflow.approve, ApproveInput(actor=LEADER))
        await same_day.execute_update(
            DossierWorkflow.issue_result, IssueResultInput(documents=[RESULT], actor=ISSUER)
        )
        await same_day.result()
        histories["same_day_after_cutoff"] = (await same_day.fetch_history()).to_json()
    return histories


@pytest.mark.skipif(
    not os.environ.get("DVC_RECORD_HISTORIES"),
    reason="set DVC_RECORD_HISTORIES=1 to re-record tests/histories",
)
async def test_record_histories(tmp_path: Path) -> None:
    """Writes the cases not recorded yet; DVC_RECORD_HISTORIES=all re-records every one
    (a committed history is the shape some running case has: keep it unless retired)."""
    HISTORIES.mkdir(exist_ok=True)
    every = os.environ.get("DVC_RECORD_HISTORIES") == "all"
    for name, history in (await _record_cases(tmp_path)).items():
        path = HISTORIES / f"{name}.json"
        if every or not path.exists():
            path.write_text(history)


def _history_files() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


@pytest.mark.parametrize("path", _history_files(), ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    """A code change that would break running cases fails here (non-determinism)."""
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    await Replayer(workflows=[DossierWorkflow]).replay_workflow(history)


def test_histories_are_committed() -> None:
    # Today's shape and every older one still running somewhere (``*.before-<patch>``).
    names = {p.stem for p in _history_files()}
    assert {"postal_paid_before_result", "supplement_overdue_apology",
            "refund_send_back_redispatch", "same_day_after_cutoff"} <= names  # fmt: skip
    for before in ("local-record", "case-patches", "serial-locals"):
        assert {f"postal_paid_before_result.before-{before}",
                f"supplement_overdue_apology.before-{before}"} <= names  # fmt: skip


def _gauged(fn: Callable[..., Any], name: str, runs: dict[str, list[tuple[float, float, str]]]):  # type: ignore[no-untyped-def]
    """``fn`` as the same activity, taking long enough (50 ms of real time) that a case
    which started a second local activity before the first finished is seen doing so."""

    def run(arg: Any) -> Any:
        began = time.monotonic()
        time.sleep(0.05)
        try:
            return fn(arg)
        finally:
            runs[activity.info().workflow_id].append((began, time.monotonic(), name))

    # The same argument and result types as ``fn`` (the data converter reads them).
    hints = typing.get_type_hints(fn)
    run.__annotations__ = {"arg": next(v for k, v in hints.items() if k != "return"),
                           "return": hints["return"]}  # fmt: skip
    return activity.defn(name=name)(run)


async def test_one_local_activity_in_flight_at_a_time(tmp_path: Path) -> None:
    """Two local activities in flight can be resolved in another order, and another
    activation, live than on replay: the case's coroutines then interleave differently
    and a worker restart meets a nondeterminism error (the worker-kill drill found
    one). Today's case starts each only after the previous one finished."""
    runs: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    async with harness(tmp_path) as h:
        gauged = [
            _gauged(DeadlineActivities(h.calendar).plan_deadline, "plan_deadline", runs),
            _gauged(RecordActivities(h.db).record_transition, "record_transition", runs),
            _gauged(NotifyActivities(h.db).notify, "notify", runs),
        ]
        async with h.worker([*gauged, *h.world.activities()]):
            start = vn(2027, 1, 11, 9, 0)
            await h.travel_to(start)
            handle = await h.start(
                dossier_input(h.new_code(), start, payment_stage="on_submission", fee_amount=50_000)
            )
            await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
            await handle.signal(
                DossierWorkflow.payment_confirmed,
                PaymentConfirmedInput(
                    payment_ref=payment_reference(handle.id), amount=50_000, transaction_id="T"
                ),
            )
            state = await _wait_for_status(handle, "PROCESSING", within_seconds=20)
            assert state.payment_status == "paid"
            await handle.execute_update(DossierWorkflow.approve, ApproveInput(actor=SPECIALIST))
    ordered = sorted(runs[handle.id])
    kinds = {name for _, _, name in ordered}
    assert kinds == {"plan_deadline", "record_transition", "notify"}, ordered
    overlapping = [
        f"{a[2]} / {b[2]}" for a, b in zip(ordered, ordered[1:], strict=False) if b[0] < a[1]
    ]
    assert overlapping == []


# --- the changes a case is started with ------------------------------------------------


def _events(history: WorkflowHistory, kind: EventType.ValueType) -> list[Any]:
    return [e for e in history.events if e.event_type == kind]


async def test_a_new_case_runs_todays_code_without_patch_markers(tmp_path: Path) -> None:
    """Started with every change listed (as the API starts it): no patch marker, no
    TemporalChangeVersion, and no upsert where no search attribute changed."""
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start))
        await _wait_for_status(handle, "SUBMITTED", within_seconds=10)
        described = await handle.describe()
        # The first transition found what the start set: StatusSince is the submission.
        assert described.typed_search_attributes.get(STATUS_SINCE) == start
        assert described.typed_search_attributes.get(CASE_STATUS) == "SUBMITTED"
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await handle.execute_update(DossierWorkflow.approve, ApproveInput(actor=SPECIALIST))
        history = await handle.fetch_history()
        markers = _events(history, EventType.EVENT_TYPE_MARKER_RECORDED)
        assert {m.marker_recorded_event_attributes.marker_name for m in markers} == {
            "core_local_activity"
        }
        upserts = _events(history, EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
        # accept (PROCESSING, DueAt, step) and approve (the next step): two, none at submission.
        assert len(upserts) == 2
        for upsert in upserts:
            fields = upsert.upsert_workflow_search_attributes_event_attributes.search_attributes
            assert "TemporalChangeVersion" not in fields.indexed_fields
        # Only what changed is sent: the agency and the procedure never move.
        first = upserts[0].upsert_workflow_search_attributes_event_attributes
        assert "AgencyCode" not in first.search_attributes.indexed_fields
        assert {"CaseStatus", "DueAt", "CurrentStep", "StatusSince"} <= set(
            first.search_attributes.indexed_fields
        )
        attrs = (await handle.describe()).typed_search_attributes
        assert (attrs.get(CASE_STATUS), attrs.get(CURRENT_STEP)) == ("PROCESSING", "phe_duyet")
        assert attrs.get(DUE_AT) == vn(2027, 1, 25, 9, 0)
        # One timer for the reception limit, one for the processing deadlines (the warning
        # first); the approval kept the earliest deadline, so it started and cancelled none.
        started = _events(history, EventType.EVENT_TYPE_TIMER_STARTED)
        cancelled = _events(history, EventType.EVENT_TYPE_TIMER_CANCELED)
        assert (len(started), len(cancelled)) == (2, 1)


async def test_a_case_started_before_the_list_asks_workflow_patched(tmp_path: Path) -> None:
    """No list in its input (started by an older API): the changes are patches it meets
    while running, each a marker, as before."""
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start, patches=[]))
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        history = await handle.fetch_history()
        patch_ids = {
            json.loads(m.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)[
                "id"
            ]
            for m in _events(history, EventType.EVENT_TYPE_MARKER_RECORDED)
            if m.marker_recorded_event_attributes.marker_name == "core_patch"
        }
        assert {"local-record-v1", "quiet-upserts-v1"} <= patch_ids


async def test_a_worker_without_a_listed_change_leaves_the_case_to_one_that_has_it(
    tmp_path: Path,
) -> None:
    """A newer API listed a change this worker's code does not have: the workflow task
    fails (and is retried) instead of the case running without it."""
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(
            dossier_input(h.new_code(), start, patches=[*patches.KNOWN, "from-the-future-v9"])
        )
        failed: list[Any] = []
        for _ in range(100):  # the worker's first attempt, not time passing
            history = await handle.fetch_history()
            failed = _events(history, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
            if failed:
                break
            await asyncio.sleep(0.1)
        assert failed, "the workflow task should have failed"
        message = failed[0].workflow_task_failed_event_attributes.failure.message
        assert "from-the-future-v9" in message
        assert not _events(history, EventType.EVENT_TYPE_MARKER_RECORDED)
        await handle.terminate("test over")
