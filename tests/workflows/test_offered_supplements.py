"""The actions a case publishes (what the pages offer) leave out the supplement
requests the workflow would refuse: reception's second one, and processing's after
its days from reception. The workflow still refuses them with the specific reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowUpdateFailedError

from dichvucong.accounts.principal import Principal
from dichvucong.db.models import Dossier
from dichvucong.dossiers.views import actions_for
from dichvucong.workflows import texts
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import (
    AcceptInput,
    ApproveInput,
    RequestSupplementInput,
    SupplementInput,
)
from dichvucong.workflows.rules import allowed_actions

from .harness import dossier_input, harness, vn
from .test_dossier_lifecycle import RECEPTION, SPECIALIST

PROCESSING = dict(step="tham_dinh", step_role="specialist", step_index=0, apology_open=False,
                  delivery="online", paid=False)  # fmt: skip


def test_the_rules_leave_out_what_would_be_refused() -> None:
    submitted = dict(PROCESSING, status="SUBMITTED")
    assert "request_supplement" in allowed_actions(**submitted)["reception"]
    asked = allowed_actions(**submitted, reception_supplement_asked=True)
    assert asked["reception"] == ["accept", "refuse"]
    processing = dict(PROCESSING, status="PROCESSING")
    assert "request_supplement" in allowed_actions(**processing)["specialist"]
    late = allowed_actions(**processing, supplement_request_open=False)
    assert late["specialist"] == ["approve", "reject"]


def _dossier(until: datetime) -> Dossier:
    return Dossier(
        code="000.00.12.H19-270111-0001", procedure_code="ly-lich-tu-phap",
        agency_code="000.00.12.H19", status="PROCESSING",
        state={"allowed_actions": {"specialist": ["approve", "reject", "request_supplement"]},
               "supplement_request_until": until.isoformat()},
    )  # fmt: skip


@pytest.mark.parametrize(("hours", "offered"), [(-1, False), (1, True)])
def test_the_pages_stop_offering_it_when_the_days_pass(hours: int, offered: bool) -> None:
    # The published actions change at the case's next transition; the page knows the date.
    specialist = Principal(kind="official", id=2, name="chuyenvien", agency_code="000.00.12.H19",
                           roles=("specialist",))  # fmt: skip
    until = datetime.now(UTC) + timedelta(hours=hours)
    assert ("request_supplement" in actions_for(_dossier(until), specialist)) is offered


async def test_a_case_publishes_only_the_requests_it_takes(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start, applicant_id=5))
        await handle.execute_update(
            DossierWorkflow.request_supplement,
            RequestSupplementInput(items=["Bản sao CCCD"], actor=RECEPTION),
        )
        await handle.signal(DossierWorkflow.supplement, SupplementInput())
        await h.env.sleep(timedelta(seconds=1))
        state = await handle.query(DossierWorkflow.state)
        assert state.status == "SUBMITTED"
        assert "request_supplement" not in state.allowed_actions["reception"]
        with pytest.raises(WorkflowUpdateFailedError) as again:
            await handle.execute_update(
                DossierWorkflow.request_supplement,
                RequestSupplementInput(items=["Ảnh 4x6"], actor=RECEPTION),
            )
        assert str(again.value.cause.message) == texts.refusal("supplement_once")

        state = await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        assert "request_supplement" in state.allowed_actions["specialist"]
        await h.travel_to(vn(2027, 1, 18, 9, 0))  # past 3 working days from reception
        state = await handle.execute_update(
            DossierWorkflow.approve, ApproveInput(actor=SPECIALIST)
        )
        assert state.allowed_actions["leader"] == ["approve", "reject", "send_back"]
