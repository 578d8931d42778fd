"""Decisions whose input the checks did not foresee: a moment without an offset, an
apology date already gone, a blank address. Refused (an Update) or dropped (a signal),
never a failed workflow task, and the case as it was."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from dichvucong.db.models import Dossier
from dichvucong.workflows import texts
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import AcceptInput, ApologizeInput, RedispatchInput

from .harness import Harness, dossier_input, harness, vn
from .test_dossier_lifecycle import ISSUER, LEADER, RECEPTION
from .test_dossier_payment_delivery import _process_to_result

LEADER_JSON = {"official_id": "lanhdao.stp", "role": "leader"}
ISSUER_JSON = {"official_id": "vanthu.stp", "role": "issuer"}


async def _task_failures(handle: WorkflowHandle[Any, Any]) -> list[str]:
    return [
        e.workflow_task_failed_event_attributes.failure.message
        async for e in handle.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]


async def _refusal(handle: WorkflowHandle[Any, Any], update: str, arg: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, arg)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ActionRefused"
    return cause.message


async def _replays(handle: WorkflowHandle[Any, Any]) -> None:
    """Today's code replays what it recorded (the patch checks are deterministic)."""
    await Replayer(workflows=[DossierWorkflow]).replay_workflow(await handle.fetch_history())


async def _overdue_cases(h: Harness, n: int, **overrides: Any) -> list[WorkflowHandle[Any, Any]]:
    """Accepted Mon 11 Jan 09:00, due Mon 25 Jan 09:00; the clock at 25 Jan 11:00."""
    start = vn(2027, 1, 11, 9, 0)
    await h.travel_to(start)
    handles = [await h.start(dossier_input(h.new_code(), start, **overrides)) for _ in range(n)]
    for handle in handles:
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
    await h.travel_to(vn(2027, 1, 25, 11, 0))
    for handle in handles:
        state = await handle.query(DossierWorkflow.state)
        assert (state.overdue, state.due_at) == (True, vn(2027, 1, 25, 9, 0))
    return handles


async def test_a_moment_without_offset_is_refused_and_never_fails_the_task(
    tmp_path: Path,
) -> None:
    async with harness(tmp_path) as h, h.worker():
        by_update, by_signal = await _overdue_cases(h, 2)
        naive = {"new_due": "2027-01-29T16:00:00", "reason": "Chờ xác minh", "actor": LEADER_JSON}

        message = await _refusal(by_update, "apologize", naive)
        assert message == texts.refusal("timezone_required")

        # As a supervisor sends it from the Temporal UI: dropped, the case keeps running.
        await by_signal.signal("apologize", naive)
        await h.env.sleep(timedelta(seconds=2))
        for handle in (by_update, by_signal):
            assert await _task_failures(handle) == []
            state = await handle.query(DossierWorkflow.state)
            assert (state.apology_used, state.due_at) == (False, vn(2027, 1, 25, 9, 0))
            assert "apologize" in state.allowed_actions["leader"]
        await _replays(by_signal)


async def test_a_paper_reception_moment_without_offset_is_dropped(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start, channel="counter"))
        await h.travel_to(vn(2027, 1, 11, 10, 0))
        accept = {
            "received_at": "2027-01-11T09:30:00",
            "actor": {"official_id": "tiepnhan.stp", "role": "reception"},
        }
        assert await _refusal(handle, "accept", accept) == texts.refusal("timezone_required")
        await handle.signal("accept", accept)
        await h.env.sleep(timedelta(seconds=2))
        assert await _task_failures(handle) == []
        state = await handle.query(DossierWorkflow.state)
        assert (state.status, state.received_at) == ("SUBMITTED", None)


async def test_an_apology_date_already_gone_keeps_the_one_reset(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        by_update, by_signal = await _overdue_cases(h, 2)
        gone = vn(2027, 1, 25, 10, 0)  # after the due moment, before now (11:00)

        message = await _refusal(
            by_update,
            "apologize",
            ApologizeInput(new_due=gone, reason="Chờ xác minh", actor=LEADER),
        )
        assert message == texts.refusal("apology_past", now="11:00 25/01/2027")

        await by_signal.signal(
            DossierWorkflow.apologize_signal,
            ApologizeInput(new_due=gone, reason="Chờ xác minh", actor=LEADER),
        )
        await h.env.sleep(timedelta(seconds=2))
        for handle in (by_update, by_signal):
            assert await _task_failures(handle) == []
            state = await handle.query(DossierWorkflow.state)
            assert (state.apology_used, state.overdue) == (False, True)
            assert state.due_at == vn(2027, 1, 25, 9, 0)
            assert [d.reason for d in state.due_history] == ["received"]

        # The reset is still there for a date ahead.
        state = await by_update.execute_update(
            DossierWorkflow.apologize,
            ApologizeInput(new_due=vn(2027, 1, 29, 16, 0), reason="Chờ xác minh", actor=LEADER),
        )
        assert (state.apology_used, state.overdue, state.due_at) == (
            True,
            False,
            vn(2027, 1, 29, 16, 0),
        )
        await _replays(by_signal)


async def test_a_case_started_before_the_change_refuses_it_live_and_replays(
    tmp_path: Path,
) -> None:
    """No change list in its input: the signal handler asks ``workflow.patched`` (a
    marker in its history), and the recorded history replays."""
    async with harness(tmp_path) as h, h.worker():
        (old,) = await _overdue_cases(h, 1, patches=[])
        await old.signal(
            DossierWorkflow.apologize_signal,
            ApologizeInput(new_due=vn(2027, 1, 25, 10, 0), reason="Trễ", actor=LEADER),
        )
        await h.env.sleep(timedelta(seconds=2))
        assert await _task_failures(old) == []
        assert (await old.query(DossierWorkflow.state)).apology_used is False
        await _replays(old)


async def _rejected_dispatch(h: Harness, **overrides: Any) -> WorkflowHandle[Any, Any]:
    h.world.reject_shipments = 1
    handle = await h.start(
        dossier_input(h.new_code(), await h.now(), delivery="postal", **overrides)
    )
    await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
    await _process_to_result(handle)
    state = await handle.query(DossierWorkflow.state)
    assert (state.status, state.tracking_number) == ("RESULT_READY", None)
    return handle


def _stored_address(h: Harness, code: str) -> str | None:
    with h.db.session() as session:
        row = session.get(Dossier, code)
        assert row is not None
        return row.state.get("delivery_address")


async def test_a_blank_redispatch_address_is_no_address(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        await h.travel_to(vn(2027, 1, 11, 9, 0))
        # No stored address: a blank one is refused (Update) or dropped (signal).
        none = await _rejected_dispatch(h)
        blank = {"address": "   ", "actor": ISSUER_JSON}
        assert await _refusal(none, "redispatch", blank) == texts.refusal("address_required")
        await none.signal("redispatch", blank)
        await h.env.sleep(timedelta(seconds=2))
        assert await _task_failures(none) == []
        state = await none.query(DossierWorkflow.state)
        assert (state.status, state.tracking_number) == ("RESULT_READY", None)
        assert h.world.shipment_calls == [f"{none.id}:ship:1"]
        await _replays(none)

        # A stored address: sent there again, and kept.
        stored = await _rejected_dispatch(h, delivery_address="12 Lê Lợi, Biên Hòa")
        state = await stored.execute_update(
            DossierWorkflow.redispatch, RedispatchInput(address="   ", actor=ISSUER)
        )
        assert state.status == "DISPATCHED"
        assert _stored_address(h, stored.id) == "12 Lê Lợi, Biên Hòa"
        await _replays(stored)
