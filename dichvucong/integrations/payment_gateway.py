"""Client of the national payment platform (PayGov-style), and ``start_payment``
which the API calls for ``POST /api/v1/dossiers/{code}/payment``.

Protocol (JSON over HTTPS, every message signed with the check field of
``signing``):

- ``POST {base}/init``   {merchant_code, reference, dossier_code, amount, currency,
  lines, return_url, expire_at, check} -> {code, reference, payment_url, check}.
  Idempotent on ``reference``: the same reference returns the same payment (never a
  second one). ``expire_at`` (ISO 8601 with its offset, like VNPay's
  ``vnp_ExpireDate``) is the moment the portal stops expecting the payment: the
  gateway takes none after it. Signed (``INIT_FIELDS``) when present; a message
  without it is signed over ``signing.INIT_FIELDS`` as before.
- ``POST {base}/query``  {merchant_code, reference, check}
  -> {code, reference, status, amount, transaction_id, paid_at, check}
- ``POST {base}/refund`` {merchant_code, reference, amount, idempotency_key, check}
  -> {code, reference, refund_ref, status, check}. Idempotent on ``idempotency_key``.
- callback to the merchant: ``POST <portal>/api/v1/payments/callback``
  {merchant_code, reference, dossier_code, amount, transaction_id, code, status,
  paid_at, check}; ``code == "00"`` means paid.

Reply codes: 00 ok, 01 unknown reference, 02 invalid request, 03 bad check field,
04 refund refused (not paid / amount too large).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from dichvucong.activities.contracts import PaymentStatus, RefundResult
from dichvucong.integrations import http as outside
from dichvucong.integrations import signing
from dichvucong.settings import Settings
from dichvucong.workflows.references import payment_reference

if TYPE_CHECKING:
    from dichvucong.calendar import WorkCalendar
    from dichvucong.db.engine import Database

log = logging.getLogger("dichvucong.integrations.payment")

OK = "00"
NOT_FOUND = "01"
INVALID = "02"
BAD_CHECK = "03"
REFUSED = "04"

# The INIT check field covers the expiry too, so it cannot be stretched in transit.
EXPIRE_AT = "expire_at"
INIT_FIELDS = (*signing.INIT_FIELDS, EXPIRE_AT)
# No payment page is opened for less than this: nobody pays in a minute.
MIN_PAYMENT_WINDOW = timedelta(minutes=2)


def init_fields(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields an INIT message is signed over: with the expiry when it carries one."""
    return INIT_FIELDS if body.get(EXPIRE_AT) else signing.INIT_FIELDS


class GatewayError(Exception):
    """The gateway could not be reached or answered nonsense: worth retrying."""


class GatewayRejected(GatewayError):
    """The gateway understood and refused (a business answer): retrying will not help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"gateway refused ({code}): {message}")
        self.code = code


@dataclass(frozen=True)
class FeeLine:
    name: str
    amount: int


class PaymentGatewayClient:
    """Synchronous methods for activities; ``a*`` twins for async code (the API),
    which must never block its event loop (in development the gateway simulator
    is served by that same loop)."""

    def __init__(self, base_url: str, merchant_code: str, secret: str, *,
                 timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.merchant_code = merchant_code
        self._secret = secret
        self._timeout = timeout

    # ----------------------------------------------------------- messages

    def _init_body(self, reference: str, amount: int, lines: Sequence[Mapping[str, Any] | FeeLine],
                   return_url: str, dossier_code: str,
                   expire_at: datetime | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "merchant_code": self.merchant_code, "reference": reference,
            "dossier_code": dossier_code, "amount": int(amount), "currency": "VND",
            "lines": [_line(x) for x in lines], "return_url": return_url,
        }
        if expire_at is not None:
            if expire_at.tzinfo is None:
                raise ValueError("expire_at must be an aware datetime")
            body[EXPIRE_AT] = expire_at.isoformat()
        return signing.sign(body, init_fields(body), self._secret)

    def _query_body(self, reference: str) -> dict[str, Any]:
        body = {"merchant_code": self.merchant_code, "reference": reference}
        return signing.sign(body, signing.QUERY_FIELDS, self._secret)

    def _refund_body(self, reference: str, amount: int, idempotency_key: str) -> dict[str, Any]:
        body = {"merchant_code": self.merchant_code, "reference": reference,
                "amount": int(amount), "idempotency_key": idempotency_key}
        return signing.sign(body, signing.REFUND_FIELDS, self._secret)

    def _reply(self, response: httpx.Response, fields: Sequence[str],
               accept: Sequence[str] = (OK,)) -> dict[str, Any]:
        if response.status_code >= 500:
            raise GatewayError(f"gateway answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise GatewayError("gateway answered something that is not JSON") from exc
        if not isinstance(data, dict):
            raise GatewayError("gateway answered an unexpected shape")
        code = str(data.get("code", ""))
        if code not in accept:
            raise GatewayRejected(code, str(data.get("message", "")))
        if not signing.verify(data, fields, self._secret):
            raise GatewayError("gateway reply carries a wrong check field")
        return data

    @staticmethod
    def _status(data: Mapping[str, Any]) -> PaymentStatus:
        if data.get("code") == NOT_FOUND:
            return PaymentStatus(status="not_found")
        return PaymentStatus(status=str(data.get("status", "pending")),
                             amount=int(data.get("amount") or 0),
                             transaction_id=str(data.get("transaction_id") or ""))

    @staticmethod
    def _refund_result(data: Mapping[str, Any]) -> RefundResult:
        return RefundResult(refund_ref=str(data["refund_ref"]), status=str(data["status"]))

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        try:
            return outside.post(f"{self.base_url}{path}", json=body, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise GatewayError(f"gateway unreachable: {type(exc).__name__}") from exc

    async def _apost(self, path: str, body: dict[str, Any]) -> httpx.Response:
        try:
            return await outside.apost(f"{self.base_url}{path}", json=body, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise GatewayError(f"gateway unreachable: {type(exc).__name__}") from exc

    # ------------------------------------------------------------ sync API

    def init(self, reference: str, amount: int, lines: Sequence[Mapping[str, Any] | FeeLine],
             return_url: str, *, dossier_code: str, expire_at: datetime | None = None) -> str:
        """INIT -> payment URL (the same one for a repeated reference)."""
        body = self._init_body(reference, amount, lines, return_url, dossier_code, expire_at)
        return str(self._reply(self._post("/init", body), signing.INIT_REPLY_FIELDS)["payment_url"])

    def query(self, reference: str) -> PaymentStatus:
        data = self._reply(self._post("/query", self._query_body(reference)),
                           signing.QUERY_REPLY_FIELDS, accept=(OK, NOT_FOUND))
        return self._status(data)

    def refund(self, reference: str, amount: int, idempotency_key: str) -> RefundResult:
        body = self._refund_body(reference, amount, idempotency_key)
        return self._refund_result(self._reply(self._post("/refund", body),
                                               signing.REFUND_REPLY_FIELDS))

    # ----------------------------------------------------------- async API

    async def ainit(self, reference: str, amount: int,
                    lines: Sequence[Mapping[str, Any] | FeeLine], return_url: str, *,
                    dossier_code: str, expire_at: datetime | None = None) -> str:
        body = self._init_body(reference, amount, lines, return_url, dossier_code, expire_at)
        response = await self._apost("/init", body)
        return str(self._reply(response, signing.INIT_REPLY_FIELDS)["payment_url"])

    async def aquery(self, reference: str) -> PaymentStatus:
        response = await self._apost("/query", self._query_body(reference))
        return self._status(self._reply(response, signing.QUERY_REPLY_FIELDS,
                                        accept=(OK, NOT_FOUND)))

    # ------------------------------------------------- callbacks (merchant)

    def verify_callback(self, payload: Mapping[str, Any]) -> bool:
        return (payload.get("merchant_code") == self.merchant_code
                and signing.verify(payload, signing.PAYMENT_CALLBACK_FIELDS, self._secret))


def _line(line: Mapping[str, Any] | FeeLine) -> dict[str, Any]:
    if isinstance(line, FeeLine):
        return {"name": line.name, "amount": int(line.amount)}
    return {"name": str(line.get("name") or line.get("label") or "Phí, lệ phí"),
            "amount": int(line.get("amount") or 0)}


# ----------------------------------------------------------------- the API's entry


def payment_lines(dossier: Any) -> list[dict[str, Any]]:
    """Fee lines of a dossier row: those the case recorded, else one line for the total."""
    state = getattr(dossier, "state", None) or {}
    lines = state.get("fee_lines") or []
    parsed = [_line(x) for x in lines if isinstance(x, Mapping)]
    if parsed and sum(x["amount"] for x in parsed) == dossier.fee_amount:
        return parsed
    return [{"name": "Phí, lệ phí giải quyết thủ tục hành chính",
             "amount": int(dossier.fee_amount)}]


def return_url_for(settings: Settings, dossier_code: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/ho-so/{dossier_code}?thanh-toan=1"


async def start_payment(
    settings: Settings,
    dossier: Any,
    *,
    db: Database | None = None,
    calendar: WorkCalendar | None = None,
) -> str:
    """INIT the online payment of ``dossier`` (a ``db.models.Dossier`` row) and return the
    payment URL to show the citizen. Idempotent: calling it again returns the same URL.

    The INIT carries the moment the case stops waiting for the payment
    (``payment_expiry``), after which the gateway takes none.

    Raises ``api.problems.Conflict`` when nothing is to be paid online now, and
    ``GatewayError`` when the gateway cannot be reached (the API answers 502/503).
    """
    from dichvucong.api.problems import Conflict
    from dichvucong.integrations.factory import build_payment_client
    from dichvucong.integrations.payment_expiry import payment_expiry

    if dossier.payment_status == "paid":
        raise Conflict("already_paid", "Hồ sơ đã được thanh toán.")
    if dossier.status != "AWAITING_PAYMENT" or dossier.fee_amount <= 0:
        raise Conflict("no_payment_due", "Hồ sơ hiện không có khoản phí, lệ phí cần thanh toán.")
    expire_at = await asyncio.to_thread(
        payment_expiry, settings, dossier.code, db=db, calendar=calendar
    )
    if expire_at is not None and expire_at <= datetime.now(UTC) + MIN_PAYMENT_WINDOW:
        # The case closes (or asks its last question) in a moment: no page to pay on now.
        raise Conflict("payment_expired", "Đã hết hạn nộp phí, lệ phí trực tuyến của hồ sơ.")
    client = build_payment_client(settings)
    return await client.ainit(payment_reference(dossier.code), dossier.fee_amount,
                              payment_lines(dossier), return_url_for(settings, dossier.code),
                              dossier_code=dossier.code, expire_at=expire_at)
