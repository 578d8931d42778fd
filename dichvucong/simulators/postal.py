"""Postal service simulator: the other side of ``integrations.postal``.

Served under ``/_sim/postal`` in development: a JSON endpoint creating
shipments (idempotent on the key, counted in ``create_calls``), a shipment list
page with buttons, and status changes that send signed webhooks to the portal.
"""

from __future__ import annotations

import html
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from dichvucong.integrations import http as outside
from dichvucong.integrations import signing
from dichvucong.settings import Settings

log = logging.getLogger("dichvucong.simulators.postal")

STATUS_LABELS = {"created": "Đã tạo vận đơn", "picked_up": "Đã nhận gửi",
                 "delivered": "Đã phát thành công", "returned": "Chuyển hoàn"}
NEXT = {"created": {"picked_up", "delivered", "returned"},
        "picked_up": {"delivered", "returned"}}
NOTES = {"picked_up": "Bưu tá đã nhận bưu gửi", "delivered": "Đã phát thành công",
         "returned": "Không liên lạc được người nhận, chuyển hoàn"}


@dataclass
class SimShipment:
    tracking_number: str
    idempotency_key: str
    dossier_code: str
    recipient: str
    address: str
    phone: str
    documents: list[dict[str, Any]]
    created_at: str
    status: str = "created"
    events: int = 0


@dataclass
class WebhookAttempt:
    url: str
    payload: dict[str, Any]
    status_code: int | None
    error: str | None = None


@dataclass
class PostalSimulator:
    secret: str
    callback_url: str
    shipments: dict[str, SimShipment] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    create_calls: Counter[str] = field(default_factory=Counter)
    webhooks: list[WebhookAttempt] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.router = self._build_router()

    @classmethod
    def from_settings(cls, settings: Settings) -> PostalSimulator:
        from dichvucong.integrations import factory

        return cls(secret=factory.postal_secret(settings),
                   callback_url=factory.postal_callback_url(settings))

    def _new_tracking_number(self) -> str:
        # UPU S10 shape: 2 letters, 8 digits + check digit, country code.
        serial = 10_000_000 + len(self.shipments) + 1
        weights = (8, 6, 4, 2, 3, 5, 9, 7)
        check = 11 - sum(int(d) * w for d, w in zip(f"{serial:08d}", weights, strict=True)) % 11
        check = {10: 0, 11: 5}.get(check, check)
        return f"EV{serial:08d}{check}VN"

    def webhook_payload(self, shipment: SimShipment, note: str) -> dict[str, Any]:
        shipment.events += 1
        body = {"event_id": f"{shipment.tracking_number}-{shipment.events}",
                "tracking_number": shipment.tracking_number,
                "dossier_code": shipment.dossier_code, "status": shipment.status,
                "note": note, "at": datetime.now(UTC).isoformat()}
        return signing.sign(body, signing.POSTAL_CALLBACK_FIELDS, self.secret)

    async def send_webhook(self, payload: dict[str, Any]) -> WebhookAttempt:
        attempt = WebhookAttempt(self.callback_url, payload, None)
        try:
            response = await outside.apost(self.callback_url, json=payload, timeout=10)
            attempt.status_code = response.status_code
        except httpx.HTTPError as exc:
            attempt.error = type(exc).__name__
            log.warning("postal webhook to %s failed: %s", self.callback_url, attempt.error)
        self.webhooks.append(attempt)
        return attempt

    async def change_status(self, tracking_number: str, status: str, note: str = ""
                            ) -> WebhookAttempt | None:
        shipment = self.shipments.get(tracking_number)
        if shipment is None or status not in NEXT.get(shipment.status, set()):
            return None
        shipment.status = status
        return await self.send_webhook(self.webhook_payload(shipment, note or NOTES[status]))

    def _build_router(self) -> APIRouter:
        router = APIRouter(tags=["simulator: postal service"])

        @router.post("/shipments")
        async def create(request: Request) -> JSONResponse:
            body = await request.json()
            if not isinstance(body, dict) or not signing.verify(body, signing.SHIPMENT_FIELDS,
                                                                 self.secret):
                return JSONResponse({"error": "bad_check"}, status_code=401)
            key = str(body.get("idempotency_key") or "")
            if not key or key != request.headers.get("Idempotency-Key", key):
                return JSONResponse({"error": "idempotency_key"}, status_code=400)
            if not str(body.get("address") or "").strip():
                return JSONResponse({"error": "address_required"}, status_code=422)
            self.create_calls[key] += 1
            existing = self.by_key.get(key)
            created = existing is None
            if existing is None:
                shipment = SimShipment(
                    self._new_tracking_number(), key, str(body.get("dossier_code", "")),
                    str(body.get("recipient", "")), str(body["address"]),
                    str(body.get("phone", "")), list(body.get("documents") or []),
                    datetime.now(UTC).isoformat())
                self.shipments[shipment.tracking_number] = shipment
                self.by_key[key] = shipment.tracking_number
            else:
                shipment = self.shipments[existing]
            reply = {"tracking_number": shipment.tracking_number, "idempotency_key": key,
                     "created_at": shipment.created_at, "status": shipment.status}
            return JSONResponse(signing.sign(reply, signing.SHIPMENT_REPLY_FIELDS, self.secret),
                                status_code=201 if created else 200)

        @router.get("/shipments/{tracking_number}")
        async def show(tracking_number: str) -> JSONResponse:
            shipment = self.shipments.get(tracking_number)
            if shipment is None:
                return JSONResponse({"error": "not_found"}, status_code=404)
            return JSONResponse({"tracking_number": shipment.tracking_number,
                                 "dossier_code": shipment.dossier_code,
                                 "status": shipment.status, "created_at": shipment.created_at})

        @router.post("/shipments/{tracking_number}/status", response_model=None)
        async def change(request: Request, tracking_number: str, status: str = Form(...),
                         note: str = Form("")) -> RedirectResponse | JSONResponse:
            attempt = await self.change_status(tracking_number, status, note)
            if attempt is None:
                return JSONResponse({"error": "invalid_transition"}, status_code=409)
            if "text/html" in request.headers.get("accept", ""):
                return RedirectResponse(str(request.url_for("sim_postal_list")), status_code=303)
            return JSONResponse({"status": status, "webhook_status": attempt.status_code,
                                 "webhook_error": attempt.error})

        @router.get("/", name="sim_postal_list", response_class=HTMLResponse)
        async def listing(request: Request) -> HTMLResponse:
            rows = []
            for s in reversed(list(self.shipments.values())):
                action = str(request.url_for("sim_postal_list")).rstrip("/")
                buttons = "".join(
                    f'<form method="post" action="{action}/shipments/{s.tracking_number}/status" '
                    f'style="display:inline"><input type="hidden" name="status" value="{n}">'
                    f'<button type="submit">{STATUS_LABELS[n]}</button></form> '
                    for n in ("picked_up", "delivered", "returned") if n in NEXT.get(s.status, ())
                )
                rows.append(
                    f"<tr><td>{s.tracking_number}</td><td>{html.escape(s.dossier_code)}</td>"
                    f"<td>{html.escape(s.recipient)}<br>{html.escape(s.address)}</td>"
                    f"<td>{STATUS_LABELS[s.status]}</td><td>{buttons}</td></tr>")
            table = ("<table><thead><tr><th>Số hiệu</th><th>Hồ sơ</th><th>Người nhận</th>"
                     "<th>Trạng thái</th><th>Thao tác</th></tr></thead><tbody>"
                     + ("".join(rows) or '<tr><td colspan="5">Chưa có bưu gửi.</td></tr>')
                     + "</tbody></table>")
            return HTMLResponse(
                '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
                "<title>Bưu chính (mô phỏng)</title></head><body>"
                f"<main><h1>Bưu gửi kết quả (mô phỏng)</h1>{table}</main></body></html>")

        return router
