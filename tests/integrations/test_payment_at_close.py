"""A gateway callback the route accepts ("accepted", HTTP 200) while the case's
workflow is closing on its payment expiry is not dropped: the money is recorded on
the timeline and refunded through the LateRefundWorkflow, as for a closed case."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus

from dichvucong.activities.contracts import PaymentQuery, PaymentStatus
from dichvucong.activities.payments import PaymentActivities
from dichvucong.integrations.factory import build_payment_client
from dichvucong.settings import Settings
from dichvucong.workflows.references import payment_reference
from tests.integrations.test_audit_late_payment import (
    FEE,
    _awaiting_payment,
    _events,
    _row,
    _stack,
)
from tests.workflows.harness import vn

EXPIRY = vn(2027, 1, 18, 9, 0)  # Mon 11/01 09:00 + 5 working days


def _paying_during_the_expiry_query(pay: list[str]) -> Callable[[Settings], list[Any]]:
    def make(settings: Settings) -> list[Any]:
        real_query = PaymentActivities(build_payment_client(settings)).query_payment

        @activity.defn(name="query_payment")
        def query_payment(query: PaymentQuery) -> PaymentStatus:
            # The gateway answers "pending" (the bank has not confirmed yet)...
            answer = real_query(query)
            if activity.info().current_attempt_scheduled_time >= EXPIRY and pay:
                # ...and the bank's confirmation arrives a moment later: the citizen's
                # payment is taken and the gateway's callback reaches the portal while
                # the workflow still waits for this answer.
                httpx.post(pay.pop(), data={"action": "pay"}, timeout=10)
            return answer

        return [query_payment]

    return make


async def test_callback_accepted_while_the_case_closes_on_expiry_is_not_lost(
        tmp_path: Path, free_port: Callable[[], int]) -> None:
    pay: list[str] = []
    async with _stack(tmp_path, free_port(), _paying_during_the_expiry_query(pay)) as stack:
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
