"""Client of the National Public Service Portal's dossier sync (Cổng DVC quốc gia).

Every provincial one-stop-shop system reports its dossiers there: the dossier
once received, then each later transition. The national statistics count what
arrives (the Decision 766 online rate is multiplied by the sync rate).

Protocol (JSON over HTTPS; field names in the style of the national portal's
integration guide — VERIFY against the official specification before production):

- ``POST {base}/oauth/token`` (HTTP Basic client id/secret,
  ``grant_type=client_credentials``) -> {access_token, token_type, expires_in}.
  The token is cached until shortly before it expires.
- ``POST {base}/api/dossiers`` (the dossier, once received) and
  ``POST {base}/api/dossiers/{MaHoSo}/statuses`` (each later transition), with
  ``Authorization: Bearer`` and ``Idempotency-Key: <dossier code>:<transition seq>``
  -> 201 {ack_id} (200 with the same ack_id for a repeated key).
- Errors: 4xx {error_code, message}: a business rejection (unknown procedure
  code, malformed payload...). Retrying will not help: recorded as "rejected"
  with its reason for supervisors and *returned* (the activity completes).
  401 once: the token is renewed and the call repeated. 5xx, 429, timeouts and
  "dossier not synced yet" (``HS_CHUA_DONG_BO``): raised, so the workflow's
  retry policy tries again (8 attempts), then the nightly re-sync.

Each call is recorded in ``national_sync`` (one row per dossier and transition).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import Session, col, select

from dichvucong.activities.contracts import NationalSyncRequest, NationalSyncResult
from dichvucong.catalog import Catalog, load_catalog
from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier, NationalSync
from dichvucong.integrations import http as outside
from dichvucong.settings import Settings

log = logging.getLogger("dichvucong.integrations.national")

SYNCED, REJECTED, FAILED = "synced", "rejected", "failed"
# Error codes of the portal that mean "not yet", not "no": retried.
RETRYABLE_CODES = frozenset({"HS_CHUA_DONG_BO", "HE_THONG_BAN"})
TOKEN_MARGIN_SECONDS = 30
NO_NATIONAL_CODE = "MA_TTHC_CHUA_KHAI_BAO"


class NationalPortalError(Exception):
    """Unreachable, overloaded or nonsensical answer: worth retrying."""


class NationalCredentialsRefused(NationalPortalError):
    """The token endpoint refused our client id or secret: a configuration error that
    retrying within minutes does not mend (and repeated tries may lock the client out).
    The record stays failed for the nightly re-sync once the settings are fixed."""


# ----------------------------------------------------------------- settings


def _base(settings: Settings) -> str:
    return str(settings.public_base_url).rstrip("/")


def national_portal_url(settings: Settings) -> str | None:
    """The sync API base URL, or None when the sync is off: switched off, or in
    production without a URL (the simulator never stands in for production)."""
    if not settings.national_sync_enabled:
        return None
    if settings.national_portal_url:
        return settings.national_portal_url.rstrip("/")
    if settings.environment == "production":
        return None
    return f"{_base(settings)}/_sim/national"


def build_national_client(settings: Settings, db: Database) -> NationalPortalClient | None:
    url = national_portal_url(settings)
    if url is None:
        return None
    return NationalPortalClient(
        url,
        settings.national_client_id,
        settings.national_client_secret,
        db=db,
        timeout=settings.national_timeout_seconds,
    )


# ----------------------------------------------------------------- payloads


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def build_payload(request: NationalSyncRequest, national_code: str) -> dict[str, Any]:
    """What the portal receives. Applicant identifiers are not sent: the portal's
    statistics need none, and what it does not receive cannot leak."""
    common = {
        "MaHoSo": request.dossier_code,
        "SoThuTu": request.seq,
        "TrangThaiHoSo": request.status,
        "BuocXuLy": request.step,
        "ThoiDiem": _iso(request.at),
        "DonViXuLy": request.actor_unit or request.agency_code,
        "NgayHenTra": _iso(request.due_at),
        "NgayKetThuc": _iso(request.finished_at),
        "KetQua": request.result,
    }
    if request.kind == "dossier":
        return {
            **common,
            "MaTTHC": national_code,
            "MaCoQuan": request.agency_code,
            "KenhThucHien": request.channel,
            "NgayTiepNhan": _iso(request.received_at or request.at),
        }
    return {**common, "MaTTHC": national_code}


def request_to_json(request: NationalSyncRequest) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in dataclasses.asdict(request).items()
    }


def request_from_json(data: dict[str, Any]) -> NationalSyncRequest:
    names = {f.name for f in dataclasses.fields(NationalSyncRequest)}
    values: dict[str, Any] = {k: v for k, v in data.items() if k in names}
    for key in ("at", "received_at", "due_at", "finished_at"):
        if isinstance(values.get(key), str):
            values[key] = datetime.fromisoformat(values[key])
    return NationalSyncRequest(**values)


# ----------------------------------------------------------------- client


class NationalPortalClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        db: Database | None = None,
        catalog: Catalog | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._db = db
        self._catalog = catalog
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_expires = 0.0

    # --- token (client credentials), shared by the activity threads

    def _fetch_token(self) -> tuple[str, float]:
        try:
            response = outside.post(
                f"{self.base_url}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(self._client_id, self._client_secret),
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise NationalPortalError(f"token endpoint unreachable: {type(exc).__name__}") from exc
        if response.status_code in (400, 401, 403):
            log.error("national_credentials_refused status=%s", response.status_code)
            raise NationalCredentialsRefused(
                f"token endpoint refused the client credentials (HTTP {response.status_code})"
            )
        if response.status_code != 200:
            raise NationalPortalError(f"token endpoint answered HTTP {response.status_code}")
        try:
            data = response.json()
            return str(data["access_token"]), float(data.get("expires_in", 300))
        except (ValueError, KeyError, TypeError) as exc:
            raise NationalPortalError("token endpoint answered something unexpected") from exc

    def access_token(self, *, renew: bool = False) -> str:
        with self._lock:
            now = self._clock()
            if renew or self._token is None or now >= self._token_expires:
                token, ttl = self._fetch_token()
                self._token = token
                self._token_expires = now + max(ttl - TOKEN_MARGIN_SECONDS, ttl / 2)
            return self._token

    # --- sync

    def national_code(self, procedure_code: str) -> str | None:
        catalog = self._catalog or load_catalog()
        procedure = catalog.procedures.get(procedure_code)
        return procedure.national_code if procedure is not None else None

    def sync(self, request: NationalSyncRequest) -> NationalSyncResult:
        national_code = self.national_code(request.procedure_code)
        if national_code is None:
            reason = (
                f"{NO_NATIONAL_CODE}: thủ tục {request.procedure_code} chưa có mã TTHC "
                "quốc gia trong danh mục"
            )
            self._record(request, REJECTED, reason)
            return NationalSyncResult(status=REJECTED, reason=reason)
        if request.kind != "dossier" and self._dossier_rejected(request.dossier_code):
            reason = (
                "HS_CHUA_DONG_BO: hồ sơ bị Cổng quốc gia từ chối khi đồng bộ lần đầu; "
                "xử lý lỗi đó trước"
            )
            self._record(request, REJECTED, reason)
            return NationalSyncResult(status=REJECTED, reason=reason)
        path = (
            "/api/dossiers"
            if request.kind == "dossier"
            else f"/api/dossiers/{request.dossier_code}/statuses"
        )
        body = build_payload(request, national_code)
        key = f"{request.dossier_code}:{request.seq}"
        try:
            response = self._post(path, body, key)
        except NationalPortalError as exc:
            self._record(request, FAILED, str(exc))
            raise
        if response.status_code in (200, 201):
            self._record(request, SYNCED, None)
            return NationalSyncResult(status=SYNCED)
        code, message = _error_of(response)
        reason = f"{code}: {message}" if message else code
        if (
            response.status_code >= 500
            or response.status_code in (401, 408, 429)
            or code in RETRYABLE_CODES
        ):
            self._record(request, FAILED, reason)
            raise NationalPortalError(
                f"national portal answered HTTP {response.status_code} ({reason})"
            )
        self._record(request, REJECTED, reason)
        log.warning(
            "national_sync_rejected dossier=%s seq=%s reason=%s",
            request.dossier_code,
            request.seq,
            reason,
        )
        return NationalSyncResult(status=REJECTED, reason=reason)

    def _post(self, path: str, body: dict[str, Any], key: str) -> httpx.Response:
        response = self._post_once(path, body, key, self.access_token())
        if response.status_code == 401:  # expired or revoked early: one fresh token
            response = self._post_once(path, body, key, self.access_token(renew=True))
        return response

    def _post_once(self, path: str, body: dict[str, Any], key: str, token: str) -> httpx.Response:
        try:
            return outside.post(
                f"{self.base_url}{path}",
                json=body,
                timeout=self._timeout,
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            )
        except httpx.HTTPError as exc:
            raise NationalPortalError(f"national portal unreachable: {type(exc).__name__}") from exc

    # --- the record supervisors see

    def _dossier_rejected(self, dossier_code: str) -> bool:
        """The dossier's first report was refused: its statuses cannot land either."""
        if self._db is None:
            return False
        with self._db.session() as session:
            row = session.exec(
                select(NationalSync).where(
                    NationalSync.dossier_code == dossier_code, NationalSync.kind == "dossier"
                )
            ).first()
        return row is not None and row.status == REJECTED

    def _record(self, request: NationalSyncRequest, status: str, reason: str | None) -> None:
        if self._db is None:
            return
        record_attempt(self._db, request, status, reason)


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        data = response.json()
    except ValueError:
        return f"HTTP_{response.status_code}", response.text[:200]
    if not isinstance(data, dict):
        return f"HTTP_{response.status_code}", str(data)[:200]
    return (
        str(data.get("error_code") or f"HTTP_{response.status_code}"),
        str(data.get("message") or "")[:500],
    )


def record_attempt(
    db: Database,
    request: NationalSyncRequest,
    status: str,
    reason: str | None,
    now: datetime | None = None,
) -> None:
    """Upsert the row of (dossier, seq). A synced row stays synced (a late
    duplicate answer never downgrades it)."""
    now = now or datetime.now(UTC)
    with db.session() as session:
        row = session.get(NationalSync, (request.dossier_code, request.seq))
        if row is None:
            row = NationalSync(
                dossier_code=request.dossier_code,
                seq=request.seq,
                kind=request.kind,
                agency_code=request.agency_code,
                procedure_code=request.procedure_code,
                status=status,
                request=request_to_json(request),
                first_attempt_at=now,
            )
        elif row.status == SYNCED:
            return
        row.status, row.reason, row.updated_at = status, reason, now
        row.attempts += 1
        if status == SYNCED:
            row.synced_at = now
        session.add(row)
        session.commit()


# ----------------------------------------------------------------- queries


def unacknowledged(
    db: Database,
    *,
    older_than: timedelta = timedelta(hours=1),
    now: datetime | None = None,
    limit: int = 5000,
) -> list[NationalSyncRequest]:
    """Transitions whose last attempt failed (transport) long enough ago that the
    workflow's own retries are over, oldest dossier and transition first."""
    cutoff = (now or datetime.now(UTC)) - older_than
    with db.session() as session:
        rows = session.exec(
            select(NationalSync)
            .where(NationalSync.status == FAILED, col(NationalSync.updated_at) <= cutoff)
            .order_by(col(NationalSync.dossier_code), col(NationalSync.seq))
            .limit(limit)
        ).all()
    return [request_from_json(r.request) for r in rows]


def sync_records(
    session: Session,
    *,
    status: str | None = None,
    agencies: Collection[str] | None = None,
    limit: int = 200,
) -> list[NationalSync]:
    query = select(NationalSync)
    if status:
        query = query.where(NationalSync.status == status)
    if agencies is not None:
        query = query.where(col(NationalSync.agency_code).in_(list(agencies)))
    query = query.order_by(col(NationalSync.updated_at).desc()).limit(limit)
    return list(session.exec(query).all())


@dataclasses.dataclass
class SyncRate:
    agency_code: str
    received: int
    synced: int

    @property
    def rate(self) -> float | None:
        return self.synced / self.received if self.received else None


def sync_rates(
    session: Session, start: datetime, end: datetime, agencies: Collection[str] | None = None
) -> list[SyncRate]:
    """Per agency: dossiers received in [start, end) and how many of them the
    national portal acknowledged (their "dossier" record synced)."""
    received_q = (
        select(Dossier.agency_code, func.count())
        .where(col(Dossier.received_at) >= start, col(Dossier.received_at) < end)
        .group_by(Dossier.agency_code)
    )
    synced_q = (
        select(Dossier.agency_code, func.count(func.distinct(Dossier.code)))
        .join(NationalSync, col(NationalSync.dossier_code) == col(Dossier.code))
        .where(
            col(Dossier.received_at) >= start,
            col(Dossier.received_at) < end,
            NationalSync.kind == "dossier",
            NationalSync.status == SYNCED,
        )
        .group_by(Dossier.agency_code)
    )
    if agencies is not None:
        received_q = received_q.where(col(Dossier.agency_code).in_(list(agencies)))
        synced_q = synced_q.where(col(Dossier.agency_code).in_(list(agencies)))
    received = dict(session.exec(received_q).all())  # type: ignore[arg-type]
    synced = dict(session.exec(synced_q).all())  # type: ignore[arg-type]
    return [
        SyncRate(code, int(received[code]), int(synced.get(code, 0))) for code in sorted(received)
    ]
