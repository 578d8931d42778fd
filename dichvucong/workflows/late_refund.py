"""A payment that arrived after its case closed, refunded.

The gateway can still take a payment the case no longer expects (a page left open
past the expiry, a gateway that ignored ``expire_at``); its signed callback then
finds the dossier's workflow closed. The callback route starts this workflow
instead, with the id ``<dossier code>:late-refund`` (``late_refund_id``): Temporal
refuses a second start with that id, so a retried callback never refunds twice, and
the refund's idempotency key is that same id, so neither does a retried activity.

It records the payment on the dossier's timeline (officials and accountants see it),
asks the gateway for the refund through the same ``request_refund`` activity the
dossier workflow uses, and records the outcome: ``refund_requested``, or
``refund_failed`` when the gateway refuses for good (the accountant refunds by hand).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from dichvucong.activities.contracts import RefundRequest, RefundResult
from dichvucong.workflows.texts import NOTES

LATE_REFUND_SUFFIX = ":late-refund"

SUMMARY = "Hoàn tiền thanh toán sau khi hồ sơ đã kết thúc"

# Outside calls are retried until the gateway answers (a refusal for good stops them).
OUTSIDE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5)
)
# Our own database: retried until it is back.
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)


def late_refund_id(dossier_code: str) -> str:
    return f"{dossier_code}{LATE_REFUND_SUFFIX}"


@dataclass
class LateRefundInput:
    dossier_code: str
    payment_ref: str
    amount: int
    transaction_id: str
    # False when the case kept another payment (at the counter): the refund is of this
    # second one, and the dossier's payment status stays as the case left it.
    sets_payment_status: bool = True


@dataclass
class LatePaymentEvent:
    """One event on the dossier's timeline (``record_late_payment``)."""

    dossier_code: str
    key: str  # unique per dossier and action: the late-refund workflow's id
    action: str
    actor: str
    at: datetime
    note: str
    payment_status: str | None = None  # the dossier's payment status after it; None: as is
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class LateRefundOutcome:
    status: str  # refund_requested | refund_failed
    refund_ref: str | None = None


@workflow.defn(name="LateRefundWorkflow")
class LateRefundWorkflow:
    @workflow.run
    async def run(self, inp: LateRefundInput) -> LateRefundOutcome:
        key = workflow.info().workflow_id
        paid = {"payment_ref": inp.payment_ref, "amount": inp.amount,
                "transaction_id": inp.transaction_id}  # fmt: skip
        await self._record(
            inp, "payment_mismatch", actor="gateway", data={**paid, "reason": "case_closed"},
            note=NOTES["late_payment"].format(amount=inp.amount, transaction=inp.transaction_id),
        )
        workflow.set_current_details(SUMMARY)
        try:
            refund: RefundResult = await workflow.execute_activity(
                "request_refund",
                RefundRequest(
                    dossier_code=inp.dossier_code,
                    idempotency_key=key,
                    payment_ref=inp.payment_ref,
                    amount=inp.amount,
                    reason=NOTES["late_refund_reason"],
                ),
                result_type=RefundResult,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=OUTSIDE_RETRY,
                summary="Yêu cầu hoàn tiền",
            )
        except ActivityError as failure:
            reason = _failure_reason(failure)
            await self._record(
                inp, "refund_failed", payment_status="refund_failed",
                data={**paid, "refund_error": reason},
                note=NOTES["late_refund_failed"].format(amount=inp.amount, reason=reason),
            )  # fmt: skip
            return LateRefundOutcome(status="refund_failed")
        await self._record(
            inp, "refund_requested", payment_status="refund_requested",
            data={**paid, "refund_ref": refund.refund_ref},
            note=NOTES["late_refund_requested"].format(amount=inp.amount, ref=refund.refund_ref),
        )  # fmt: skip
        return LateRefundOutcome(status="refund_requested", refund_ref=refund.refund_ref)

    async def _record(self, inp: LateRefundInput, action: str, *, actor: str = "system",
                      note: str, data: dict[str, Any],
                      payment_status: str | None = None) -> None:  # fmt: skip
        await workflow.execute_activity(
            "record_late_payment",
            LatePaymentEvent(
                dossier_code=inp.dossier_code,
                key=workflow.info().workflow_id,
                action=action,
                actor=actor,
                at=workflow.now(),
                note=note,
                payment_status=payment_status if inp.sets_payment_status else None,
                data=data,
            ),
            result_type=bool,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RECORD_RETRY,
            summary="Ghi nhận thanh toán sau khi hồ sơ kết thúc",
        )


def _failure_reason(failure: ActivityError) -> str:
    """What the gateway said, for the accountant (the cause is the activity's own error)."""
    cause = failure.cause
    return str(cause.message if isinstance(cause, ApplicationError) else cause or failure)[:500]
