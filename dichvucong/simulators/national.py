"""National Public Service Portal simulator: the other side of ``integrations.national``.

Served under ``/_sim/national`` in development and tests:

- ``POST /oauth/token``: client credentials (HTTP Basic) -> a bearer token
  valid ``token_ttl`` seconds (issued tokens counted in ``tokens_issued``).
- ``POST /api/dossiers`` and ``POST /api/dossiers/{code}/statuses``: check the
  token, the ``Idempotency-Key`` (``<MaHoSo>:<SoThuTu>``), the payload's shape
  and codes (the national procedure code must be one the simulator knows: every
  ``national_code`` of our catalog unless told otherwise), and record it once per
  (dossier, seq) in ``records``; ``calls`` counts every accepted call per key.
- ``GET /``: a page listing what was received; ``GET /records``: the same as JSON.
- ``POST /_control`` {fail_next, delay_seconds, slow_next, slow_seconds, token_ttl,
  unknown_codes}: fail the next N sync calls with 503, answer every call (or the
  next N) slowly — after keeping the record —, shorten tokens, forget codes: so
  tests exercise retries.
"""

from __future__ import annotations

import asyncio
import base64
import html
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from dichvucong.settings import Settings
from dichvucong.workflows.messages import CaseStatus

CHANNELS = {"online", "counter", "postal"}
STATUSES = {s.value for s in CaseStatus}
AGENCY = re.compile(r"^[0-9A-Z.]{3,40}$")
NATIONAL_CODE = re.compile(r"^\d+\.\d+$")
REQUIRED = {
    "dossier": (
        "MaHoSo",
        "SoThuTu",
        "MaTTHC",
        "MaCoQuan",
        "KenhThucHien",
        "TrangThaiHoSo",
        "ThoiDiem",
        "NgayTiepNhan",
    ),
    "status": ("MaHoSo", "SoThuTu", "MaTTHC", "TrangThaiHoSo", "ThoiDiem"),
}


def _catalog_codes() -> set[str]:
    from dichvucong.catalog import load_catalog

    return {p.national_code for p in load_catalog().procedures.values() if p.national_code}


@dataclass
class SyncRecord:
    kind: str
    key: str
    payload: dict[str, Any]
    ack_id: str
    received_at: float


@dataclass
class NationalPortalSimulator:
    client_id: str
    client_secret: str
    known_codes: set[str] = field(default_factory=_catalog_codes)
    token_ttl: int = 3600
    fail_next: int = 0
    delay_seconds: float = 0.0
    slow_next: int = 0
    slow_seconds: float = 2.0
    tokens: dict[str, float] = field(default_factory=dict)
    tokens_issued: int = 0
    records: dict[tuple[str, int], SyncRecord] = field(default_factory=dict)
    calls: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.router = self._build_router()

    @classmethod
    def from_settings(cls, settings: Settings) -> NationalPortalSimulator:
        return cls(
            client_id=settings.national_client_id,
            client_secret=settings.national_client_secret,
        )

    def dossier_records(self, code: str) -> list[SyncRecord]:
        return [r for (c, _), r in sorted(self.records.items()) if c == code]

    # --- checks

    def _client_ok(self, request: Request, form: dict[str, Any]) -> bool:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return False
        else:
            user, password = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        return secrets.compare_digest(user, self.client_id) and secrets.compare_digest(
            password, self.client_secret
        )

    def _token_ok(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return False
        expires = self.tokens.get(header[7:].strip())
        return expires is not None and expires > time.time()

    def problems(self, kind: str, body: Any, code_in_path: str | None) -> tuple[str, str] | None:
        """(error_code, message) of the first problem with the payload, or None."""
        if not isinstance(body, dict):
            return "DU_LIEU_KHONG_HOP_LE", "payload must be a JSON object"
        missing = [k for k in REQUIRED[kind] if body.get(k) in (None, "")]
        if missing:
            return "THIEU_TRUONG", f"missing: {', '.join(missing)}"
        if not isinstance(body["SoThuTu"], int) or body["SoThuTu"] < 0:
            return "DU_LIEU_KHONG_HOP_LE", "SoThuTu must be a non-negative integer"
        if code_in_path is not None and body["MaHoSo"] != code_in_path:
            return "DU_LIEU_KHONG_HOP_LE", "MaHoSo differs from the URL"
        for key in ("ThoiDiem", "NgayTiepNhan", "NgayHenTra", "NgayKetThuc"):
            value = body.get(key)
            if value is not None:
                try:
                    if datetime.fromisoformat(str(value)).tzinfo is None:
                        return "NGAY_KHONG_HOP_LE", f"{key} has no UTC offset"
                except ValueError:
                    return "NGAY_KHONG_HOP_LE", f"{key} is not an ISO 8601 moment"
        if body["TrangThaiHoSo"] not in STATUSES:
            return "TRANG_THAI_KHONG_HOP_LE", f"unknown status {body['TrangThaiHoSo']!r}"
        national = str(body["MaTTHC"])
        if not NATIONAL_CODE.match(national) or national not in self.known_codes:
            return "MA_TTHC_KHONG_TON_TAI", (
                f"Mã thủ tục {national} không có trong CSDL quốc gia về TTHC"
            )
        if kind == "dossier":
            if body["KenhThucHien"] not in CHANNELS:
                return "KENH_KHONG_HOP_LE", f"unknown channel {body['KenhThucHien']!r}"
            if not AGENCY.match(str(body["MaCoQuan"])):
                return "MA_CO_QUAN_KHONG_HOP_LE", f"bad agency code {body['MaCoQuan']!r}"
        return None

    async def receive(self, request: Request, kind: str, code: str | None) -> JSONResponse:
        if not self._token_ok(request):
            return JSONResponse(
                {"error_code": "TOKEN_KHONG_HOP_LE", "message": "invalid token"}, status_code=401
            )
        try:
            body = await request.json()
        except ValueError:
            body = None
        if self.fail_next > 0:
            self.fail_next -= 1
            self.failures += 1
            return JSONResponse(
                {"error_code": "HE_THONG_BAN", "message": "simulated outage"}, status_code=503
            )
        response = self._accept(request, kind, code, body)
        # Slow answers come after the work is done: the client may have given up
        # on a record that was in fact kept (its retry must not make a second one).
        delay = self.delay_seconds
        if self.slow_next > 0:
            self.slow_next -= 1
            delay = max(delay, self.slow_seconds)
        if delay:
            await asyncio.sleep(delay)
        return response

    def _accept(self, request: Request, kind: str, code: str | None, body: Any) -> JSONResponse:
        problem = self.problems(kind, body, code)
        if problem is None:
            expected = f"{body['MaHoSo']}:{body['SoThuTu']}"
            if request.headers.get("idempotency-key") != expected:
                problem = ("KHOA_TRUNG_LAP_KHONG_HOP_LE", f"Idempotency-Key must be {expected}")
        if (
            problem is None
            and kind == "status"
            and not any(c == body["MaHoSo"] for c, _ in self.records)
        ):
            problem = ("HS_CHUA_DONG_BO", "Hồ sơ chưa được đồng bộ")
        if problem is not None:
            self.rejections.append({"kind": kind, "error_code": problem[0], "message": problem[1]})
            status = 409 if problem[0] == "HS_CHUA_DONG_BO" else 422
            return JSONResponse(
                {"error_code": problem[0], "message": problem[1]}, status_code=status
            )
        key = (str(body["MaHoSo"]), int(body["SoThuTu"]))
        self.calls[key] += 1
        existing = self.records.get(key)
        if existing is not None:
            return JSONResponse({"ack_id": existing.ack_id, "duplicate": True}, status_code=200)
        record = SyncRecord(
            kind, f"{key[0]}:{key[1]}", body, f"QG-{len(self.records) + 1:08d}", time.time()
        )
        self.records[key] = record
        return JSONResponse({"ack_id": record.ack_id}, status_code=201)

    def _build_router(self) -> APIRouter:
        router = APIRouter(tags=["simulator: national portal"])

        @router.post("/oauth/token")
        async def token(request: Request) -> JSONResponse:
            form = dict(await request.form())
            if form.get("grant_type") != "client_credentials":
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            if not self._client_ok(request, form):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            value = secrets.token_urlsafe(24)
            self.tokens[value] = time.time() + self.token_ttl
            self.tokens_issued += 1
            return JSONResponse(
                {"access_token": value, "token_type": "Bearer", "expires_in": self.token_ttl}
            )

        @router.post("/api/dossiers")
        async def dossier(request: Request) -> JSONResponse:
            return await self.receive(request, "dossier", None)

        @router.post("/api/dossiers/{code}/statuses")
        async def status(request: Request, code: str) -> JSONResponse:
            return await self.receive(request, "status", code)

        @router.post("/_control")
        async def control(request: Request) -> JSONResponse:
            body = await request.json()
            if "fail_next" in body:
                self.fail_next = int(body["fail_next"])
            if "delay_seconds" in body:
                self.delay_seconds = float(body["delay_seconds"])
            if "slow_next" in body:
                self.slow_next = int(body["slow_next"])
                self.slow_seconds = float(body.get("slow_seconds", self.slow_seconds))
            if "token_ttl" in body:
                self.token_ttl = int(body["token_ttl"])
            for code in body.get("unknown_codes") or []:
                self.known_codes.discard(str(code))
            return JSONResponse(
                {
                    "fail_next": self.fail_next,
                    "delay_seconds": self.delay_seconds,
                    "token_ttl": self.token_ttl,
                }
            )

        @router.get("/records")
        async def records() -> JSONResponse:
            return JSONResponse(
                [
                    {
                        "key": r.key,
                        "kind": r.kind,
                        "ack_id": r.ack_id,
                        "calls": self.calls[k],
                        "payload": r.payload,
                    }
                    for k, r in sorted(self.records.items())
                ]
            )

        @router.get("/", name="sim_national_list", response_class=HTMLResponse)
        async def listing() -> HTMLResponse:
            rows = "".join(
                f"<tr><td>{html.escape(r.ack_id)}</td><td>{html.escape(k[0])}</td><td>{k[1]}</td>"
                f"<td>{'Hồ sơ' if r.kind == 'dossier' else 'Trạng thái'}</td>"
                f"<td>{html.escape(str(r.payload.get('MaTTHC')))}</td>"
                f"<td>{html.escape(str(r.payload.get('TrangThaiHoSo')))}</td>"
                f"<td>{html.escape(str(r.payload.get('BuocXuLy') or ''))}</td>"
                f"<td>{html.escape(str(r.payload.get('ThoiDiem')))}</td>"
                f"<td>{self.calls[k]}</td></tr>"
                for k, r in sorted(self.records.items(), reverse=True)
            )
            table = (
                "<table><thead><tr><th>Mã tiếp nhận</th><th>Hồ sơ</th><th>Thứ tự</th>"
                "<th>Loại</th><th>Mã TTHC</th><th>Trạng thái</th><th>Bước</th>"
                "<th>Thời điểm</th><th>Số lần gửi</th></tr></thead><tbody>"
                + (rows or '<tr><td colspan="9">Chưa nhận dữ liệu nào.</td></tr>')
                + "</tbody></table>"
            )
            return HTMLResponse(
                '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
                "<title>Cổng DVC quốc gia (mô phỏng)</title></head><body><main>"
                "<h1>Dữ liệu đồng bộ nhận được (Cổng DVC quốc gia — mô phỏng)</h1>"
                f"<p>{len(self.records)} bản ghi; lỗi mô phỏng còn lại: {self.fail_next}; "
                f"độ trễ: {self.delay_seconds:g} s.</p>{table}</main></body></html>"
            )

        return router
