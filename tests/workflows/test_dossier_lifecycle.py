"""The whole life of a dossier on the time-skipping server, with exact moments."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowUpdateFailedError

from dichvucong.db.models import Dossier, DossierDocument, DossierEvent, Notification
from dichvucong.search_attributes import CASE_STATUS, CURRENT_STEP, DUE_AT, OVERDUE
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import (
    AcceptInput,
    Actor,
    ApproveInput,
    IssueResultInput,
    RefuseInput,
    SendBackInput,
)

from .harness import RESULT, dossier_input, harness, vn

RECEPTION = Actor("tiepnhan.stp", "reception")
SPECIALIST = Actor("chuyenvien.stp", "specialist")
LEADER = Actor("lanhdao.stp", "leader")
ISSUER = Actor("vanthu.stp", "issuer")


async def test_happy_path_with_exact_due_moments(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)  # Monday
        await h.travel_to(start)
        code = h.new_code()
        handle = await h.start(dossier_input(code, start, applicant_id=7))

        state = await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        assert state.status == "PROCESSING"
        assert state.step == "tham_dinh"
        # 10 working days from Monday 11 Jan 2027 09:00: Monday 25 Jan 09:00.
        assert state.due_at == vn(2027, 1, 25, 9, 0)
        assert state.allowed_actions == {"specialist": ["approve", "reject", "request_supplement"]}
        # The first step's budget (7 working days) ends Wednesday 20 Jan 09:00.
        assert state.hand_overs[0].due_at == vn(2027, 1, 20, 9, 0)

        await h.env.sleep(timedelta(hours=3))
        state = await handle.execute_update(
            DossierWorkflow.approve, ApproveInput(note="Đủ điều kiện", actor=SPECIALIST)
        )
        assert (state.status, state.step) == ("PROCESSING", "phe_duyet")
        state = await handle.execute_update(DossierWorkflow.approve, ApproveInput(actor=LEADER))
        assert (state.step, state.allowed_actions) == ("issue_result", {"issuer": ["issue_result"]})

        described = await handle.describe()
        attrs = described.typed_search_attributes
        assert attrs.get(CASE_STATUS) == "PROCESSING"
        assert attrs.get(CURRENT_STEP) == "issue_result"
        assert attrs.get(DUE_AT) == vn(2027, 1, 25, 9, 0)
        assert attrs.get(OVERDUE) is False

        state = await handle.execute_update(
            DossierWorkflow.issue_result, IssueResultInput(documents=[RESULT], actor=ISSUER)
        )
        assert state.status == "COMPLETED"
        outcome = await handle.result()
        assert (outcome.status, outcome.timeliness) == ("COMPLETED", "early")
        # reported to the national portal from reception on, once per transition
        assert [(seq, kind, status) for c, seq, kind, status in h.world.national if c == code] == [
            (1, "dossier", "PROCESSING"), (2, "status", "PROCESSING"),
            (3, "status", "PROCESSING"), (4, "status", "COMPLETED")]

        with h.db.session() as session:
            row = session.get(Dossier, code)
            assert row is not None
            assert (row.status, row.timeliness, row.overdue) == ("COMPLETED", "early", False)
            assert row.received_at is not None
            assert abs(row.received_at - start) < timedelta(seconds=5)
            assert row.due_at == vn(2027, 1, 25, 9, 0)
            events = session.exec(
                select(DossierEvent)
                .where(DossierEvent.dossier_code == code)
                .order_by(DossierEvent.seq)
            ).all()
            assert [e.action for e in events] == [
                "submit",
                "accept",
                "approve",
                "approve",
                "issue_result",
            ]
            assert [e.actor for e in events][1:] == [
                "tiepnhan.stp",
                "chuyenvien.stp",
                "lanhdao.stp",
                "vanthu.stp",
            ]
            assert events[2].note == "Đủ điều kiện"
            docs = session.exec(
                select(DossierDocument).where(DossierDocument.dossier_code == code)
            ).all()
            assert {(d.kind, d.slot) for d in docs} == {
                ("submitted", "to_khai"),
                ("result", "ket_qua"),
            }
            notices = session.exec(
                select(Notification).where(Notification.recipient == "citizen:7")
            ).all()
            # every status change reaches the citizen once
            assert [n.seq for n in sorted(notices, key=lambda n: n.seq)] == [0, 1, 4]
            slip = row.state["hand_overs"]
            assert [(x["step"], x["official_id"], x["result"]) for x in slip] == [
                ("tham_dinh", "chuyenvien.stp", "early"),
                ("phe_duyet", "lanhdao.stp", "early"),
                ("issue_result", "vanthu.stp", "early"),
            ]


async def test_deadline_spanning_tet_2027(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 2, 1, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start))
        state = await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        # Tết 2027 closes offices 4–10 Feb: Feb 2, 3, 11, 12, 15–19, 22 are the ten days.
        assert state.due_at == vn(2027, 2, 22, 9, 0)


async def test_submission_after_hours_counts_from_next_working_morning(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        friday_evening = vn(2027, 1, 15, 19, 30)
        await h.travel_to(friday_evening)
        handle = await h.start(dossier_input(h.new_code(), friday_evening, time_limit_days=1))
        # The reception window (8 working hours) runs from Monday 07:00 to Monday 17:00.
        await h.travel_to(vn(2027, 1, 18, 16, 0))
        state = await handle.query(DossierWorkflow.state)
        assert state.status == "SUBMITTED"
        # Accepted outside office hours: the day counts from Tuesday 07:00.
        await h.travel_to(vn(2027, 1, 18, 18, 0))
        state = await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        assert state.due_at == vn(2027, 1, 20, 7, 0)
        with h.db.session() as session:
            kinds = [
                n.kind
                for n in session.exec(
                    select(Notification).where(Notification.dossier_code == handle.id)
                ).all()
            ]
        assert "reception_late" in kinds


async def test_refusal_at_reception(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start, applicant_id=3))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                DossierWorkflow.refuse, RefuseInput(reason="  ", actor=RECEPTION)
            )
        assert "lý do" in str(refused.value.cause)
        state = await handle.execute_update(
            DossierWorkflow.refuse,
            RefuseInput(reason="Thủ tục không thuộc thẩm quyền", actor=RECEPTION),
        )
        assert state.status == "REFUSED"
        assert (await handle.result()).status == "REFUSED"
        with h.db.session() as session:
            row = session.get(Dossier, handle.id)
            assert row is not None and row.status == "REFUSED" and row.closed_at is not None


async def test_send_back_returns_to_the_earlier_step(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start))
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        with pytest.raises(WorkflowUpdateFailedError):
            # nothing to send back to from the first step
            await handle.execute_update(
                DossierWorkflow.send_back,
                SendBackInput(to_step="tham_dinh", reason="x", actor=SPECIALIST),
            )
        await handle.execute_update(DossierWorkflow.approve, ApproveInput(actor=SPECIALIST))
        state = await handle.execute_update(
            DossierWorkflow.send_back,
            SendBackInput(to_step="tham_dinh", reason="Thiếu xác minh nơi cư trú", actor=LEADER),
        )
        assert state.step == "tham_dinh"
        assert [(x.step, x.action) for x in state.hand_overs] == [
            ("tham_dinh", "approve"),
            ("phe_duyet", "send_back"),
            ("tham_dinh", None),
        ]
        # the due moment of the case does not move on a send-back
        assert state.due_at == vn(2027, 1, 25, 9, 0)


async def test_validators_refuse_wrong_status_and_wrong_role(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start))
        with pytest.raises(WorkflowUpdateFailedError) as wrong_status:
            await handle.execute_update(DossierWorkflow.approve, ApproveInput(actor=LEADER))
        assert "Chờ tiếp nhận" in str(wrong_status.value.cause)
        with pytest.raises(WorkflowUpdateFailedError) as wrong_role:
            await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=LEADER))
        assert "lãnh đạo" in str(wrong_role.value.cause)
        # A refused update leaves no trace in the case: still waiting for reception.
        state = await handle.query(DossierWorkflow.state)
        assert (state.status, state.seq) == ("SUBMITTED", 0)


async def test_retried_update_with_the_same_id_acts_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start))
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        first = await handle.execute_update(
            DossierWorkflow.approve, ApproveInput(actor=SPECIALIST), id="idem-key-1"
        )
        again = await handle.execute_update(
            DossierWorkflow.approve, ApproveInput(actor=SPECIALIST), id="idem-key-1"
        )
        assert first.seq == again.seq == 2
        assert (await handle.query(DossierWorkflow.state)).step == "phe_duyet"


async def test_decisions_also_arrive_as_signals(tmp_path: Path) -> None:
    """A supervisor can act from the Temporal UI or `temporal workflow signal`."""
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start))
        await handle.signal("approve", ApproveInput(actor=SPECIALIST))  # invalid now: ignored
        await handle.signal("accept", AcceptInput(actor=Actor("giamsat", "supervisor")))
        await h.env.sleep(timedelta(seconds=1))
        state = await handle.query(DossierWorkflow.state)
        assert (state.status, state.step, state.seq) == ("PROCESSING", "tham_dinh", 1)


async def test_status_since_is_when_the_case_entered_its_status(tmp_path: Path) -> None:
    """The supervisors' StatusSince: accepting a day after submission starts PROCESSING's."""
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start))
        await h.travel_to(vn(2027, 1, 12, 10, 0))
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        described = await h.env.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace="default", execution=WorkflowExecution(workflow_id=handle.id)
            )
        )
        fields = described.workflow_execution_info.search_attributes.indexed_fields
        assert json.loads(fields["CaseStatus"].data) == "PROCESSING"
        since = datetime.fromisoformat(json.loads(fields["StatusSince"].data))
        assert vn(2027, 1, 12, 10, 0) <= since < vn(2027, 1, 12, 10, 1)
