"""Payment gateway simulator: the other side of ``integrations.payment_gateway``.

Served by the app in development under ``/_sim/payment`` (or alone, see
``python -m dichvucong.simulators``). State lives in memory; the counters
(``init_calls`` per reference, ``refund_calls`` per idempotency key,
``charges`` per reference) let tests check that nothing was paid or refunded
twice.

Like a real gateway it honours the merchant's ``expire_at``: after that moment
(``clock``, which tests may set) a pending payment lapses and nothing is charged.
"""

from __future__ import annotations

import html
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from dichvucong.integrations import http as outside
from dichvucong.integrations import signing
from dichvucong.integrations.payment_gateway import (
    BAD_CHECK,
    EXPIRE_AT,
    INVALID,
    NOT_FOUND,
    OK,
    REFUSED,
    init_fields,
)
from dichvucong.settings import Settings

log = logging.getLogger("dichvucong.simulators.payment")

CANCELLED_CODE = "24"


@dataclass
class SimPayment:
    reference: str
    dossier_code: str
    amount: int
    lines: list[dict[str, Any]]
    return_url: str
    status: str = "pending"  # pending | paid | cancelled | expired
    transaction_id: str = ""
    paid_at: str = ""
    refunded: int = 0
    expires_at: datetime | None = None  # the merchant's expire_at: no payment after it


@dataclass
class SimRefund:
    refund_ref: str
    reference: str
    amount: int
    status: str = "accepted"


@dataclass
class CallbackAttempt:
    url: str
    payload: dict[str, Any]
    status_code: int | None
    error: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _expiry(body: dict[str, Any]) -> datetime | None:
    """The INIT's ``expire_at``; ValueError when it is not an aware ISO 8601 moment."""
    value = body.get(EXPIRE_AT)
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("expire_at without an offset")
    return moment


def vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đ"


@dataclass
class PaymentSimulator:
    merchant_code: str
    secret: str
    callback_url: str
    send_callbacks: bool = True  # False: callbacks are "lost" (tests of QUERY healing)
    payments: dict[str, SimPayment] = field(default_factory=dict)
    refunds: dict[str, SimRefund] = field(default_factory=dict)
    init_calls: Counter[str] = field(default_factory=Counter)
    refund_calls: Counter[str] = field(default_factory=Counter)
    charges: Counter[str] = field(default_factory=Counter)
    callbacks: list[CallbackAttempt] = field(default_factory=list)
    clock: Callable[[], datetime] = _now  # the gateway's own clock

    def __post_init__(self) -> None:
        self.router = self._build_router()

    @classmethod
    def from_settings(cls, settings: Settings) -> PaymentSimulator:
        from dichvucong.integrations import factory

        return cls(merchant_code=factory.payment_merchant_code(settings),
                   secret=factory.payment_secret(settings),
                   callback_url=factory.payment_callback_url(settings))

    # ----------------------------------------------------------- helpers

    def _reply(self, data: dict[str, Any], fields: tuple[str, ...], status: int = 200
               ) -> JSONResponse:
        return JSONResponse(signing.sign(data, fields, self.secret), status_code=status)

    def _refuse(self, code: str, message: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"code": code, "message": message}, status_code=status)

    def _checked(self, body: Any, fields: tuple[str, ...]) -> JSONResponse | None:
        if not isinstance(body, dict):
            return self._refuse(INVALID, "invalid request")
        if body.get("merchant_code") != self.merchant_code:
            return self._refuse(INVALID, "unknown merchant")
        if not signing.verify(body, fields, self.secret):
            return self._refuse(BAD_CHECK, "check field mismatch")
        return None

    def expire(self, reference: str) -> None:
        """Let a pending payment lapse (tests; a real gateway does it on a timer)."""
        payment = self.payments[reference]
        if payment.status == "pending":
            payment.status = "expired"

    def _lapse(self, payment: SimPayment | None) -> SimPayment | None:
        """A pending payment past its ``expires_at`` becomes expired when next looked at."""
        if (payment is not None and payment.status == "pending"
                and payment.expires_at is not None and self.clock() >= payment.expires_at):
            payment.status = "expired"
        return payment

    def callback_payload(self, payment: SimPayment) -> dict[str, Any]:
        code = OK if payment.status == "paid" else CANCELLED_CODE
        body = {"merchant_code": self.merchant_code, "reference": payment.reference,
                "dossier_code": payment.dossier_code, "amount": payment.amount,
                "transaction_id": payment.transaction_id, "code": code,
                "status": payment.status, "paid_at": payment.paid_at}
        return signing.sign(body, signing.PAYMENT_CALLBACK_FIELDS, self.secret)

    async def send_callback(self, payment: SimPayment) -> CallbackAttempt:
        payload = self.callback_payload(payment)
        attempt = CallbackAttempt(self.callback_url, payload, None)
        if not self.send_callbacks:
            attempt.error = "dropped"
        else:
            try:
                response = await outside.apost(self.callback_url, json=payload, timeout=10)
                attempt.status_code = response.status_code
            except httpx.HTTPError as exc:
                attempt.error = type(exc).__name__
                log.warning("payment callback to %s failed: %s", self.callback_url, attempt.error)
        self.callbacks.append(attempt)
        return attempt

    # ----------------------------------------------------------- routes

    def _build_router(self) -> APIRouter:
        router = APIRouter(tags=["simulator: payment gateway"])

        @router.post("/init")
        async def init(request: Request) -> JSONResponse:
            body = await request.json()
            refused = self._checked(body, init_fields(body) if isinstance(body, dict) else ())
            if refused is not None:
                return refused
            reference = str(body["reference"])
            amount = int(body.get("amount") or 0)
            if amount <= 0 or not reference.isalnum():
                return self._refuse(INVALID, "invalid amount or reference")
            try:
                expires_at = _expiry(body)
            except ValueError:
                return self._refuse(INVALID, "invalid expire_at")
            if expires_at is not None and expires_at <= self.clock():
                return self._refuse(INVALID, "expire_at is in the past")
            self.init_calls[reference] += 1
            payment = self._lapse(self.payments.get(reference))
            if payment is None:
                payment = SimPayment(reference, str(body.get("dossier_code", "")), amount,
                                     list(body.get("lines") or []), str(body["return_url"]))
                self.payments[reference] = payment
            elif payment.status in ("cancelled", "expired"):
                # A new attempt on the same order: the same payment opens again.
                payment.status, payment.amount = "pending", amount
                payment.return_url = str(body["return_url"])
            if payment.status == "pending":
                payment.expires_at = expires_at  # the merchant's latest word
            url = str(request.url_for("sim_payment_page", reference=reference))
            return self._reply({"code": OK, "reference": reference, "payment_url": url,
                                "status": payment.status}, signing.INIT_REPLY_FIELDS)

        @router.post("/query")
        async def query(request: Request) -> JSONResponse:
            body = await request.json()
            refused = self._checked(body, signing.QUERY_FIELDS)
            if refused is not None:
                return refused
            reference = str(body["reference"])
            payment = self._lapse(self.payments.get(reference))
            if payment is None:
                return self._reply({"code": NOT_FOUND, "reference": reference,
                                    "status": "not_found", "amount": 0, "transaction_id": ""},
                                   signing.QUERY_REPLY_FIELDS)
            return self._reply({"code": OK, "reference": reference, "status": payment.status,
                                "amount": payment.amount,
                                "transaction_id": payment.transaction_id,
                                "paid_at": payment.paid_at}, signing.QUERY_REPLY_FIELDS)

        @router.post("/refund")
        async def refund(request: Request) -> JSONResponse:
            body = await request.json()
            refused = self._checked(body, signing.REFUND_FIELDS)
            if refused is not None:
                return refused
            key, reference = str(body["idempotency_key"]), str(body["reference"])
            self.refund_calls[key] += 1
            done = self.refunds.get(key)
            if done is None:
                payment = self.payments.get(reference)
                amount = int(body.get("amount") or 0)
                if payment is None or payment.status != "paid":
                    return self._refuse(REFUSED, "payment not paid")
                if amount <= 0 or payment.refunded + amount > payment.amount:
                    return self._refuse(REFUSED, "refund exceeds the payment")
                payment.refunded += amount
                done = SimRefund(f"RF{uuid.uuid4().hex[:12].upper()}", reference, amount)
                self.refunds[key] = done
            return self._reply({"code": OK, "reference": done.reference,
                                "refund_ref": done.refund_ref, "status": done.status},
                               signing.REFUND_REPLY_FIELDS)

        @router.get("/pay/{reference}", name="sim_payment_page", response_class=HTMLResponse)
        async def page(reference: str) -> HTMLResponse:
            payment = self._lapse(self.payments.get(reference))
            if payment is None:
                return HTMLResponse(_page("Không tìm thấy giao dịch",
                                          "<p>Mã thanh toán không tồn tại.</p>"), status_code=404)
            return HTMLResponse(_payment_page(payment))

        @router.post("/pay/{reference}", response_model=None)
        async def complete(reference: str, action: str = Form(...)
                           ) -> RedirectResponse | HTMLResponse:
            payment = self._lapse(self.payments.get(reference))
            if payment is None:
                return HTMLResponse(_page("Không tìm thấy giao dịch",
                                          "<p>Mã thanh toán không tồn tại.</p>"), status_code=404)
            if action not in ("pay", "cancel"):
                return HTMLResponse(_page("Yêu cầu không hợp lệ", "<p>Thao tác không hợp lệ.</p>"),
                                    status_code=400)
            if payment.status != "pending":
                # Paid, cancelled or expired already: nothing is charged again.
                return HTMLResponse(_payment_page(payment), status_code=409)
            if action == "pay":
                payment.status = "paid"
                payment.transaction_id = f"SIM{uuid.uuid4().hex[:16].upper()}"
                payment.paid_at = datetime.now(UTC).isoformat()
                self.charges[reference] += 1
            else:
                payment.status = "cancelled"
            await self.send_callback(payment)
            separator = "&" if "?" in payment.return_url else "?"
            return RedirectResponse(f"{payment.return_url}{separator}payment={payment.status}",
                                    status_code=303)

        @router.post("/callbacks/{reference}/resend")
        async def resend(reference: str) -> JSONResponse:
            """Send the last callback again (a gateway retrying; tests of replays)."""
            payment = self.payments.get(reference)
            if payment is None or payment.status == "pending":
                return self._refuse(NOT_FOUND, "no completed payment", status=404)
            attempt = await self.send_callback(payment)
            return JSONResponse({"status_code": attempt.status_code, "error": attempt.error})

        return router


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title></head><body>"
            f'<main style="max-width:32rem;margin:2rem auto;font-family:Arial,sans-serif">'
            f"<h1>{html.escape(title)}</h1>{body}</main></body></html>")


def _payment_page(payment: SimPayment) -> str:
    lines = "".join(
        f"<li>{html.escape(str(x.get('name', '')))}: {vnd(int(x.get('amount', 0)))}</li>"
        for x in payment.lines)
    info = (f"<p>Cổng thanh toán (mô phỏng) — Mã thanh toán: "
            f"<strong>{payment.reference}</strong></p>"
            f"<p>Hồ sơ: <strong>{html.escape(payment.dossier_code)}</strong></p>"
            f"{'<ul>' + lines + '</ul>' if lines else ''}"
            f'<p>Số tiền: <strong id="amount">{vnd(payment.amount)}</strong></p>')
    if payment.status == "pending":
        form = ('<form method="post">'
                '<button type="submit" name="action" value="pay">Thanh toán</button> '
                '<button type="submit" name="action" value="cancel">Hủy giao dịch</button>'
                "</form>")
        return _page("Thanh toán phí, lệ phí", info + form)
    labels = {"paid": "Giao dịch đã thanh toán thành công.", "cancelled": "Giao dịch đã bị hủy.",
              "expired": "Giao dịch đã hết hạn."}
    back = f'<p><a href="{html.escape(payment.return_url)}">Quay lại Cổng Dịch vụ công</a></p>'
    return _page("Thanh toán phí, lệ phí",
                 info + f'<p role="status">{labels.get(payment.status, payment.status)}</p>' + back)
