"""Webhooks of the outside systems: the payment gateway's callback and the postal
service's status updates. Both are verified (check field, constant-time compare)
and become signals to the dossier's workflow (its id is the dossier code).

Replays act once:

- payments: a callback whose transaction was already signalled by this process,
  or for a dossier the read model already shows as paid, is acknowledged without
  a second signal. Across API replicas (or before the read model caught up) a
  duplicate may still reach the workflow, which never pays twice: it records a
  ``payment_mismatch`` event for the accountant and stays put.
- postal: updates are deduplicated on the gateway's ``event_id`` in this process;
  the workflow ignores updates that no longer apply (a second "delivered").

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
from temporalio.service import RPCError, RPCStatusCode

from dichvucong.api.deps import DatabaseDep, SettingsDep, get_temporal
from dichvucong.api.problems import problem
from dichvucong.api.routing import OneTripRoute
from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier
from dichvucong.integrations import signing
from dichvucong.integrations.factory import payment_merchant_code, payment_secret, postal_secret
from dichvucong.integrations.payment_gateway import OK
from dichvucong.workflows.messages import PaymentConfirmedInput, PostalUpdateInput
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
    return problem(status, "Yêu cầu không hợp lệ" if status < 409 else "Xung đột", detail, code)


async def _signal(request: Request, dossier_code: str, name: str, arg: Any) -> JSONResponse | None:
    try:
        client = await get_temporal(request)  # connects lazily: may fail here too
        await client.get_workflow_handle(dossier_code).signal(name, arg)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return _refuse(
                404,
                "unknown_case",
                "Không tìm thấy hồ sơ đang xử lý.",
                "workflow_not_found",
                dossier=dossier_code,
            )
        log.error(
            "callback_signal_failed signal=%s dossier=%s status=%s", name, dossier_code, exc.status
        )
        return _unavailable()
    except Exception as exc:
        log.error(
            "callback_signal_failed signal=%s dossier=%s error=%s",
            name, dossier_code, type(exc).__name__,
        )  # fmt: skip
        return _unavailable()
    return None


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
    transaction_id = str(data.get("transaction_id", ""))
    seen = _seen(request, "payment_callbacks_seen")
    if dossier.payment_status == "paid" or not seen.claim(transaction_id):
        log.info("payment_callback_replayed reference=%s", reference)
        return JSONResponse({"code": OK, "result": "already_processed"})
    try:
        failed = await _signal(
            request,
            dossier.code,
            "payment_confirmed",
            PaymentConfirmedInput(
                payment_ref=reference, amount=amount, transaction_id=transaction_id
            ),
        )
    except BaseException:  # cancelled mid-way (the gateway hung up): its retry must count
        seen.release(transaction_id)
        raise
    if failed is not None:
        seen.release(transaction_id)  # the gateway's retry gets its chance
        return failed
    log.info("payment_callback_accepted reference=%s dossier=%s", reference, dossier.code)
    return JSONResponse({"code": OK, "result": "accepted"})


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
    event_id = str(data.get("event_id", ""))
    seen = _seen(request, "postal_callbacks_seen")
    async with seen.lock_for(tracking):
        if not seen.claim(event_id):
            return JSONResponse({"result": "already_processed"})
        try:
            failed = await _signal(
                request,
                dossier.code,
                "postal_update",
                PostalUpdateInput(
                    tracking_number=tracking, status=status, note=str(data.get("note", ""))[:500]
                ),
            )
        except BaseException:  # cancelled mid-way: the postal service's retry must count
            seen.release(event_id)
            raise
        if failed is not None:
            seen.release(event_id)
            return failed
    log.info(
        "postal_callback_accepted tracking=%s status=%s dossier=%s", tracking, status, dossier.code
    )
    return JSONResponse({"result": "accepted"})
