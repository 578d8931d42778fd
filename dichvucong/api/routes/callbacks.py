"""Webhooks of the outside systems: the payment gateway's callback and the postal
service's status updates. Both are verified (check field, constant-time compare)
and become signals to the dossier's workflow (its id is the dossier code).

Replays act once:

- payments: a callback whose transaction was already signalled by this process,
  or for a dossier the read model already shows as paid, is acknowledged without
  a second signal. Across API replicas (or before the read model caught up) a
  duplicate may still reach the workflow, which never pays twice: it records a
  ``payment_mismatch`` event for the accountant and stays put.
- payments after the case closed (a page left open past the expiry; the workflow is
  gone or the read model shows the case finished): never lost. The route starts
  ``LateRefundWorkflow`` (id ``<code>:late-refund``), which records the payment on the
  dossier's timeline and refunds it, and answers the gateway "00" so that it stops
  retrying. A retried callback finds that workflow started and starts no second one.
  A callback naming no dossier of ours is still refused.
- postal: updates are deduplicated on the gateway's ``event_id`` in this process;
  the workflow ignores updates that no longer apply (a second "delivered"). A signed
  update for a case that is closed (the read model says so, or its workflow is gone)
  is acknowledged as ``ignored`` and logged: the postal service's retry of an update
  whose answer it lost must stop, not be refused for ever.

Refusals are logged with the reason, the reference and the dossier code only —
never names, addresses or phone numbers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from dichvucong.api.deps import DatabaseDep, SettingsDep, get_temporal
from dichvucong.api.problems import problem, title_for
from dichvucong.api.routing import OneTripRoute
from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier
from dichvucong.integrations import signing
from dichvucong.integrations.factory import payment_merchant_code, payment_secret, postal_secret
from dichvucong.integrations.payment_gateway import OK
from dichvucong.workflows.late_refund import (
    SUMMARY as LATE_REFUND_SUMMARY,
)
from dichvucong.workflows.late_refund import (
    LateRefundInput,
    LateRefundWorkflow,
    late_refund_id,
)
from dichvucong.workflows.messages import (
    FINAL_STATUSES,
    PaymentConfirmedInput,
    PostalUpdateInput,
)
from dichvucong.workflows.references import payment_reference

router = APIRouter(tags=["callbacks"], route_class=OneTripRoute)
log = logging.getLogger("dichvucong.callbacks")

POSTAL_STATUSES = frozenset({"picked_up", "delivered", "returned"})
_KEEP = 10_000


class _Seen:
    """Bounded memory of processed ids. ``claim`` marks an id before the signal is sent
    (a concurrent replay of it is answered at once) and ``release`` gives it back when
    the signal failed. Nothing is held across the await but the claim: callbacks of
    different payments never wait on each other."""

    def __init__(self) -> None:
        self.ids: OrderedDict[str, None] = OrderedDict()
        self._locks: OrderedDict[str, asyncio.Lock] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self.ids

    def claim(self, key: str) -> bool:
        if key in self.ids:
            return False
        self.ids[key] = None
        while len(self.ids) > _KEEP:
            self.ids.popitem(last=False)
        return True

    def release(self, key: str) -> None:
        self.ids.pop(key, None)

    def lock_for(self, key: str) -> asyncio.Lock:
        """One lock per key (a shipment): its updates reach the workflow in order."""
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
            while len(self._locks) > _KEEP:
                self._locks.popitem(last=False)
        return lock


def _seen(request: Request, name: str) -> _Seen:
    state = request.app.state
    seen = getattr(state, name, None)
    if seen is None:
        seen = _Seen()
        setattr(state, name, seen)
    return seen


async def _payload(request: Request) -> dict[str, Any] | None:
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("application/x-www-form-urlencoded") or content_type.startswith(
            "multipart/form-data"
        ):
            return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        data = await request.json()
    except Exception:  # malformed body: refused below like any bad message
        return None
    return data if isinstance(data, dict) else None


def _refuse(status: int, code: str, detail: str, reason: str, **log_fields: Any) -> JSONResponse:
    fields = " ".join(f"{k}={v}" for k, v in log_fields.items())
    log.warning("callback_refused reason=%s %s", reason, fields)
    return problem(status, title_for(status), detail, code)


class _WorkflowGone(Exception):
    """The case's workflow is closed (or was never started): no signal reaches it."""


class _SignalFailed(Exception):
    """Temporal could not be reached: ``answer`` tells the caller to try again."""

    def __init__(self, answer: JSONResponse) -> None:
        super().__init__("signal failed")
        self.answer = answer


async def _send_signal(request: Request, dossier_code: str, name: str, arg: Any) -> None:
    """Raises ``_WorkflowGone``, or ``_SignalFailed`` with the answer for the caller."""
    try:
        client = await get_temporal(request)  # connects lazily: may fail here too
        await client.get_workflow_handle(dossier_code).signal(name, arg)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise _WorkflowGone from exc
        log.error(
            "callback_signal_failed signal=%s dossier=%s status=%s", name, dossier_code, exc.status
        )
        raise _SignalFailed(_unavailable()) from exc
    except Exception as exc:
        log.error(
            "callback_signal_failed signal=%s dossier=%s error=%s",
            name, dossier_code, type(exc).__name__,
        )  # fmt: skip
        raise _SignalFailed(_unavailable()) from exc


def _unavailable() -> JSONResponse:
    return problem(
        503, "Tạm thời không xử lý được", "Vui lòng gửi lại sau.", "temporarily_unavailable"
    )


def _dossier(db: Database, code: str) -> Dossier | None:
    """A short session in a thread: an async route never holds a pooled connection
    across an await, nor waits for one on the event loop."""
    with db.session() as session:
        return session.get(Dossier, code)


@router.post("/payments/callback")
async def payment_callback(
    request: Request, settings: SettingsDep, db: DatabaseDep
) -> JSONResponse:
    data = await _payload(request)
    if data is None:
        return _refuse(400, "invalid_request", "Nội dung không hợp lệ.", "malformed")
    reference = str(data.get("reference", ""))[:40]
    if data.get("merchant_code") != payment_merchant_code(settings) or not signing.verify(
        data, signing.PAYMENT_CALLBACK_FIELDS, payment_secret(settings)
    ):
        return _refuse(
            400,
            "invalid_signature",
            "Chữ ký (trường kiểm tra) không hợp lệ.",
            "bad_check",
            reference=reference,
        )
    dossier_code = str(data.get("dossier_code", ""))
    if str(data.get("code")) != OK or data.get("status") != "paid":
        log.info("payment_callback_not_paid reference=%s status=%s", reference, data.get("status"))
        return JSONResponse({"code": OK, "result": "acknowledged"})
    dossier = await run_in_threadpool(_dossier, db, dossier_code)
    if dossier is None or payment_reference(dossier.code) != reference:
        return _refuse(
            400,
            "reference_mismatch",
            "Mã thanh toán không khớp với hồ sơ.",
            "reference_mismatch",
            reference=reference,
        )
    try:
        amount = int(data.get("amount"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        amount = -1
    if amount != dossier.fee_amount:
        return _refuse(
            409,
            "amount_mismatch",
            "Số tiền không khớp với phí, lệ phí của hồ sơ.",
            "amount_mismatch",
            reference=reference,
            amount=amount,
            expected=dossier.fee_amount,
        )
    paid = LateRefundInput(
        dossier_code=dossier.code,
        payment_ref=reference,
        amount=amount,
        transaction_id=str(data.get("transaction_id", "")),
        sets_payment_status=dossier.payment_status != "paid",
    )
    seen = _seen(request, "payment_callbacks_seen")
    if _case_took_online_payment(dossier) or not seen.claim(paid.transaction_id):
        log.info("payment_callback_replayed reference=%s", reference)
        return JSONResponse({"code": OK, "result": "already_processed"})
    try:
        answer = await _take_payment(request, settings, dossier, paid)
    except BaseException:  # cancelled mid-way (the gateway hung up): its retry must count
        seen.release(paid.transaction_id)
        raise
    if answer.status_code != 200:
        seen.release(paid.transaction_id)  # the gateway's retry gets its chance
    return answer


def _case_took_online_payment(dossier: Dossier) -> bool:
    """The case already took this reference's one payment: a callback now is a replay."""
    if dossier.payment_status == "paid" and dossier.status not in FINAL_STATUSES:
        # Paid at the counter, this is a second payment: the workflow refunds it.
        return dossier.payment_method != "counter"
    return dossier.payment_method == "online" and dossier.payment_status in (
        "paid", "refund_requested", "refund_failed"
    )


async def _take_payment(
    request: Request, settings: SettingsDep, dossier: Dossier, paid: LateRefundInput
) -> JSONResponse:
    if dossier.status in FINAL_STATUSES:
        # Closed for good: the workflow would drop the signal while it finishes.
        return await _late_payment(request, settings, dossier, paid)
    try:
        await _send_signal(
            request,
            dossier.code,
            "payment_confirmed",
            PaymentConfirmedInput(
                payment_ref=paid.payment_ref, amount=paid.amount,
                transaction_id=paid.transaction_id,
            ),
        )  # fmt: skip
    except _WorkflowGone:
        return await _late_payment(request, settings, dossier, paid)
    except _SignalFailed as failed:
        return failed.answer
    log.info("payment_callback_accepted reference=%s dossier=%s", paid.payment_ref, dossier.code)
    return JSONResponse({"code": OK, "result": "accepted"})


async def _late_payment(
    request: Request, settings: SettingsDep, dossier: Dossier, paid: LateRefundInput
) -> JSONResponse:
    """Money taken for a closed case: a durable refund, and "00" so the gateway stops."""
    workflow_id = late_refund_id(dossier.code)
    try:
        client = await get_temporal(request)
        await client.start_workflow(
            LateRefundWorkflow.run,
            paid,
            id=workflow_id,
            task_queue=settings.task_queue,
            # Never a second run for this dossier, even after the first one finished.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=LATE_REFUND_SUMMARY,
        )
    except WorkflowAlreadyStartedError:
        log.info("payment_callback_late_replayed reference=%s", paid.payment_ref)
        return JSONResponse({"code": OK, "result": "already_processed"})
    except Exception as exc:
        log.error(
            "payment_callback_late_failed reference=%s dossier=%s error=%s",
            paid.payment_ref, dossier.code, type(exc).__name__,
        )  # fmt: skip
        return _unavailable()
    log.warning(
        "payment_callback_late reference=%s dossier=%s status=%s refund=%s",
        paid.payment_ref, dossier.code, dossier.status, workflow_id,
    )  # fmt: skip
    return JSONResponse({"code": OK, "result": "refund_started"})


@router.post("/postal/callback")
async def postal_callback(request: Request, settings: SettingsDep, db: DatabaseDep) -> JSONResponse:
    data = await _payload(request)
    if data is None:
        return _refuse(400, "invalid_request", "Nội dung không hợp lệ.", "malformed")
    tracking = str(data.get("tracking_number", ""))[:40]
    if not signing.verify(data, signing.POSTAL_CALLBACK_FIELDS, postal_secret(settings)):
        return _refuse(
            400,
            "invalid_signature",
            "Chữ ký (trường kiểm tra) không hợp lệ.",
            "bad_check",
            tracking=tracking,
        )
    status = str(data.get("status", ""))
    if status not in POSTAL_STATUSES:
        return _refuse(
            400,
            "invalid_status",
            "Trạng thái bưu gửi không hợp lệ.",
            "invalid_status",
            tracking=tracking,
        )
    dossier = await run_in_threadpool(_dossier, db, str(data.get("dossier_code", "")))
    if dossier is None:
        return _refuse(
            404, "unknown_dossier", "Không tìm thấy hồ sơ.", "unknown_dossier", tracking=tracking
        )
    if dossier.status in FINAL_STATUSES:
        return _postal_ignored(tracking, status, dossier, "case_closed")
    event_id = str(data.get("event_id", ""))
    seen = _seen(request, "postal_callbacks_seen")
    async with seen.lock_for(tracking):
        if not seen.claim(event_id):
            return JSONResponse({"result": "already_processed"})
        try:
            await _send_signal(
                request,
                dossier.code,
                "postal_update",
                PostalUpdateInput(
                    tracking_number=tracking, status=status, note=str(data.get("note", ""))[:500]
                ),
            )
        except _WorkflowGone:  # closed since the read model was read: nothing to update
            return _postal_ignored(tracking, status, dossier, "workflow_gone")
        except _SignalFailed as failed:
            seen.release(event_id)
            return failed.answer
        except BaseException:  # cancelled mid-way: the postal service's retry must count
            seen.release(event_id)
            raise
    log.info(
        "postal_callback_accepted tracking=%s status=%s dossier=%s", tracking, status, dossier.code
    )
    return JSONResponse({"result": "accepted"})


def _postal_ignored(tracking: str, status: str, dossier: Dossier, reason: str) -> JSONResponse:
    """A valid update for a closed case: acknowledged so the postal service stops
    retrying it; nothing is left to change (the case's timeline is final)."""
    log.info(
        "postal_callback_ignored reason=%s tracking=%s status=%s dossier=%s case_status=%s",
        reason, tracking, status, dossier.code, dossier.status,
    )  # fmt: skip
    return JSONResponse({"result": "ignored"})
