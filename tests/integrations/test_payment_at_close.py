"""A gateway callback the route accepts ("accepted", HTTP 200) while the case's
workflow is closing on its payment expiry is not dropped: the money is recorded on
the timeline and refunded through the LateRefundWorkflow, as for a closed case."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus

from dichvucong.activities.contracts import PaymentQuery, PaymentStatus
from dichvucong.activities.deadlines import DeadlineActivities
from dichvucong.activities.late_payments import LatePaymentActivities
from dichvucong.activities.notify import NotifyActivities
from dichvucong.activities.payments import PaymentActivities
from dichvucong.activities.records import RecordActivities
from dichvucong.api.problems import install_problem_handlers
from dichvucong.api.routes.callbacks import router as callbacks_router
from dichvucong.integrations.factory import build_outside_activities, build_payment_client
from dichvucong.settings import Settings
from dichvucong.simulators import install_simulators
from dichvucong.workflows.references import payment_reference
from tests.integrations.test_audit_late_payment import (
    FEE,
    Stack,
    _awaiting_payment,
    _events,
    _row,
    _until,
)
from tests.workflows.harness import harness, vn

EXPIRY = vn(2027, 1, 18, 9, 0)  # Mon 11/01 09:00 + 5 working days


@asynccontextmanager
async def _stack(tmp_path: Path, port: int, pay_during_expiry_query: list[str]
                 ) -> AsyncIterator[Stack]:
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
        real_query = PaymentActivities(build_payment_client(settings)).query_payment
        answers: list[int] = []

        @activity.defn(name="query_payment")
        def query_payment(query: PaymentQuery) -> PaymentStatus:
            # The gateway answers "pending" (the bank has not confirmed yet)...
            answer = real_query(query)
            if (activity.info().current_attempt_scheduled_time >= EXPIRY
                    and pay_during_expiry_query):
                # ...and the bank's confirmation arrives a moment later: the citizen's
                # payment is taken and the gateway's callback reaches the portal while
                # the workflow still waits for this answer.
                url = pay_during_expiry_query.pop()
                paid = httpx.post(url, data={"action": "pay"}, timeout=10)
                answers.append(paid.status_code)
            return answer

        try:
            await _until(lambda: server.started, "uvicorn")
            outside = [a for a in build_outside_activities(settings, h.db)
                       if getattr(a, "__name__", "") != "query_payment"]
            activities = [DeadlineActivities(h.calendar).plan_deadline,
                          RecordActivities(h.db).record_transition,
                          LatePaymentActivities(h.db).record_late_payment,
                          NotifyActivities(h.db).notify,
                          *outside, query_payment,
                          *[a for a in h.world.activities() if a.__name__ == "sync_national"]]
            async with h.worker(activities):
                yield Stack(h, app, settings)
        finally:
            server.should_exit = True
            await serving


async def test_callback_accepted_while_the_case_closes_on_expiry_is_not_lost(
        tmp_path: Path, free_port: Callable[[], int]) -> None:
    pay: list[str] = []
    async with _stack(tmp_path, free_port(), pay) as stack:
        code, url, handle = await _awaiting_payment(stack)
        # The gateway's clock (or its bank) lags a little: it still takes the payment.
        stack.gateway.clock = lambda: vn(2027, 1, 18, 8, 50)
        pay.append(url)
        # Stepwise: the time-skipping server does not skip a long sleep once an
        # abandoned child has outlived its parent.
        for _ in range(60):
            await stack.h.env.sleep(timedelta(hours=6))
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                break
        assert (await handle.result()).status == "WITHDRAWN"
        ref = payment_reference(code)
        assert stack.gateway.charges[ref] == 1  # the citizen's money was taken
        callback = stack.gateway.callbacks[-1]
        assert callback.status_code == 200  # the portal said "accepted": the gateway stops
        await asyncio.sleep(1.0)

        events = _events(stack, code)
        recorded = [e for e in events if e.action == "payment_mismatch"
                    or e.data.get("transaction_id") == callback.payload["transaction_id"]]
        # Expected: the payment is on the timeline and refunded (as a late payment is).
        assert recorded, (
            "payment accepted by the callback route but never recorded: "
            f"events={[e.action for e in events]}, row={_row(stack, code).payment_status}")
        assert stack.gateway.payments[ref].refunded == FEE
