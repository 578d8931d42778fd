"""A payment taken after its case closed is not lost: the real DossierWorkflow in the
time-skipping server, the real callback route and gateway simulator over HTTP. The
gateway's signed callback is answered "00", the payment and its refund appear on the
dossier's timeline, and a retried callback refunds nothing more."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlmodel import select

from dichvucong.activities.deadlines import DeadlineActivities
from dichvucong.activities.late_payments import LatePaymentActivities
from dichvucong.activities.notify import NotifyActivities
from dichvucong.activities.records import RecordActivities
from dichvucong.api.problems import install_problem_handlers
from dichvucong.api.routes.callbacks import router as callbacks_router
from dichvucong.db.models import Dossier, DossierEvent
from dichvucong.integrations import signing
from dichvucong.integrations.factory import build_outside_activities
from dichvucong.integrations.payment_gateway import start_payment
from dichvucong.settings import Settings
from dichvucong.simulators import install_simulators
from dichvucong.simulators.payment import PaymentSimulator
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.late_refund import LatePaymentEvent, LateRefundWorkflow, late_refund_id
from dichvucong.workflows.messages import AcceptInput, CounterPaymentInput
from dichvucong.workflows.references import payment_reference
from tests.integrations.portal import add_citizen
from tests.workflows.harness import Harness, dossier_input, harness, vn
from tests.workflows.test_dossier_lifecycle import RECEPTION

FEE = 200_000


@dataclass
class Stack:
    h: Harness
    app: FastAPI
    settings: Settings

    @property
    def gateway(self) -> PaymentSimulator:
        return self.app.state.payment_simulator  # type: ignore[no-any-return]


async def _until(predicate: Callable[[], Any], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def _stack(
    tmp_path: Path, port: int, overrides: Callable[[Settings], list[Any]] | None = None
) -> AsyncIterator[Stack]:
    """``overrides``: activities made from the stack's settings that replace the outside
    ones of the same name."""
    async with harness(tmp_path) as h:
        settings = Settings(var_dir=tmp_path, database_url=h.db.url, environment="test",
                            public_base_url=f"http://127.0.0.1:{port}", task_queue=h.task_queue)
        app = FastAPI()
        app.state.settings, app.state.db, app.state.temporal = settings, h.db, h.client
        install_problem_handlers(app)
        app.include_router(callbacks_router, prefix="/api/v1")
        install_simulators(app, settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        serving = asyncio.create_task(server.serve())
        replacing = (overrides or (lambda _: []))(settings)
        names = {getattr(a, "__name__", "") for a in replacing}
        try:
            await _until(lambda: server.started, "uvicorn")
            outside = [a for a in build_outside_activities(settings, h.db)
                       if getattr(a, "__name__", "") not in names]
            activities = [DeadlineActivities(h.calendar).plan_deadline,
                          RecordActivities(h.db).record_transition,
                          LatePaymentActivities(h.db).record_late_payment,
                          NotifyActivities(h.db).notify,
                          *outside, *replacing,
                          *[a for a in h.world.activities() if a.__name__ == "sync_national"]]
            async with h.worker(activities):
                yield Stack(h, app, settings)
        finally:
            server.should_exit = True
            await serving


async def _awaiting_payment(stack: Stack) -> tuple[str, str, Any]:
    """A case waiting for its fee, and the gateway page the citizen opened for it."""
    h = stack.h
    await h.travel_to(vn(2027, 1, 11, 9, 0))
    code = h.new_code()
    handle = await h.start(dossier_input(
        code, vn(2027, 1, 11, 9, 0), payment_stage="on_submission", fee_amount=FEE,
        applicant_id=add_citizen(h.db)))
    state = await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
    assert state.status == "AWAITING_PAYMENT"
    row = _row(stack, code)
    url = await start_payment(stack.settings, row)
    return code, url, handle


def _row(stack: Stack, code: str) -> Dossier:
    with stack.h.db.session() as session:
        row = session.get(Dossier, code)
    assert row is not None
    return row


def _events(stack: Stack, code: str) -> list[DossierEvent]:
    with stack.h.db.session() as session:
        return list(session.exec(select(DossierEvent).where(DossierEvent.dossier_code == code)
                                 .order_by(DossierEvent.seq)).all())  # type: ignore[arg-type]


async def _resend(stack: Stack, code: str) -> int:
    url = f"{stack.settings.public_base_url}/_sim/payment/callbacks/{payment_reference(code)}/resend"
    async with httpx.AsyncClient() as http:
        return int((await http.post(url, timeout=10)).json()["status_code"])


async def _pay(url: str) -> None:
    async with httpx.AsyncClient() as http:
        paid = await http.post(url, data={"action": "pay"}, timeout=10)
    assert paid.status_code == 303


async def _refunded_once(stack: Stack, code: str) -> None:
    outcome = await stack.h.client.get_workflow_handle_for(
        LateRefundWorkflow.run, late_refund_id(code)).result()
    assert outcome.status == "refund_requested"
    gateway, ref = stack.gateway, payment_reference(code)
    assert gateway.charges[ref] == 1
    assert dict(gateway.refund_calls) == {late_refund_id(code): 1}
    assert gateway.payments[ref].refunded == FEE
    late = [e for e in _events(stack, code) if e.data.get("late_key")]
    assert [e.action for e in late] == ["payment_mismatch", "refund_requested"]
    assert late[0].actor == "gateway" and late[0].data["amount"] == FEE
    assert "sau khi hồ sơ đã kết thúc" in (late[0].note or "")
    assert late[1].data["refund_ref"] == next(iter(gateway.refunds.values())).refund_ref
    assert _row(stack, code).payment_status == "refund_requested"


async def test_payment_after_expiry_is_recorded_and_refunded_once(
        tmp_path: Path, free_port: Callable[[], int]) -> None:
    async with _stack(tmp_path, free_port()) as stack:
        code, url, handle = await _awaiting_payment(stack)
        # A gateway whose clock is a week slow still shows the page as payable.
        stack.gateway.clock = lambda: vn(2027, 1, 12, 10, 0)
        await stack.h.env.sleep(timedelta(days=10))
        assert (await handle.result()).status == "WITHDRAWN"
        assert _row(stack, code).payment_status == "expired"

        await _pay(url)  # the citizen pays on the page left open
        assert stack.gateway.callbacks[-1].status_code == 200  # "00": the gateway stops
        await _refunded_once(stack, code)

        assert await _resend(stack, code) == 200  # the gateway retries: acknowledged
        stack.app.state.payment_callbacks_seen = None  # ...at another API replica
        assert await _resend(stack, code) == 200
        await asyncio.sleep(0.3)
        await _refunded_once(stack, code)
        assert _row(stack, code).status == "WITHDRAWN"

        # A callback naming no dossier of ours stays an error.
        body = dict(stack.gateway.callbacks[-1].payload, dossier_code="000.00.10.H19-NOPE")
        body = signing.sign(body, signing.PAYMENT_CALLBACK_FIELDS, stack.gateway.secret)
        async with httpx.AsyncClient() as http:
            answer = await http.post(f"{stack.settings.public_base_url}/api/v1/payments/callback",
                                     json=body, timeout=10)
        assert answer.status_code == 400 and answer.json()["code"] == "reference_mismatch"


async def test_payment_for_a_case_whose_workflow_is_gone_is_refunded(
        tmp_path: Path, free_port: Callable[[], int]) -> None:
    async with _stack(tmp_path, free_port()) as stack:
        code, url, handle = await _awaiting_payment(stack)
        await handle.terminate("ended from the Temporal UI")  # the read model still waits
        assert _row(stack, code).status == "AWAITING_PAYMENT"

        await _pay(url)
        assert stack.gateway.callbacks[-1].status_code == 200
        await _refunded_once(stack, code)
        assert await _resend(stack, code) == 200
        await _refunded_once(stack, code)


async def test_late_payment_records_are_idempotent(
        tmp_path: Path, free_port: Callable[[], int]) -> None:
    async with _stack(tmp_path, free_port()) as stack:
        code, _url, handle = await _awaiting_payment(stack)
        await handle.terminate("test")
        event = LatePaymentEvent(dossier_code=code, key=late_refund_id(code),
                                 action="payment_mismatch", actor="gateway",
                                 at=vn(2027, 1, 12, 9, 0), note="x")
        record = LatePaymentActivities(stack.h.db).record_late_payment
        before = _row(stack, code).last_seq
        assert record(event) is True
        assert record(event) is False
        assert _row(stack, code).last_seq == before + 1


async def test_online_payment_of_a_case_paid_at_the_counter_reaches_the_case(
        tmp_path: Path, free_port: Callable[[], int]) -> None:
    """The read model says "paid" (at the counter): the callback is no replay, the
    case's workflow refunds the second payment and keeps the counter's."""
    async with _stack(tmp_path, free_port()) as stack:
        code, url, handle = await _awaiting_payment(stack)
        await handle.execute_update(DossierWorkflow.record_counter_payment, CounterPaymentInput(
            receipt_no="BL-0042", amount=FEE, actor=RECEPTION))
        await _until(lambda: _row(stack, code).payment_method == "counter", "the counter payment")

        await _pay(url)  # the gateway's page, left open while paying at the counter
        assert stack.gateway.callbacks[-1].status_code == 200
        await _until(lambda: stack.gateway.payments[payment_reference(code)].refunded == FEE,
                     "the refund")
        assert dict(stack.gateway.refund_calls) == {f"{code}:double-refund": 1}
        row = _row(stack, code)
        assert (row.status, row.payment_status, row.payment_method) == (
            "PROCESSING", "paid", "counter")
        assert [e.data.get("reason") for e in _events(stack, code)
                if e.action == "payment_mismatch"] == ["paid_at_counter"]
