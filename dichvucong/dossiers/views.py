"""What the API shows of a dossier, and to whom (read model only)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel
from sqlalchemy import Table, bindparam, or_
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Row
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session, select

from dichvucong.accounts.identity import is_id_number, is_passport, mask_name
from dichvucong.accounts.principal import Principal
from dichvucong.accounts.roles import PROVINCE_OFFICE_CODE
from dichvucong.api.problems import NotFound
from dichvucong.catalog import Catalog
from dichvucong.db.models import CitizenDocument, Dossier, DossierDocument, DossierEvent
from dichvucong.workflows import texts
from dichvucong.workflows.messages import CaseStatus

FINAL = {"COMPLETED", "REFUSED", "REJECTED", "WITHDRAWN"}
# Every other status. Filter open dossiers with ``status IN OPEN_STATUSES``, not
# ``NOT IN FINAL``: IN seeks ix_dossier_agency_status_due (agency, status) so an inbox
# reads the agency's open rows only; NOT IN made SQLite walk every dossier the agency
# ever had (ix_dossier_agency_code) — 3 ms instead of 0.4 ms at 100,000 rows, and
# growing with the history.
OPEN_STATUSES = tuple(s.value for s in CaseStatus if s.value not in FINAL)
# A result reaches its citizen only from these statuses on. Before them the case may
# still wait for the fee charged before the result (payment_stage "before_result"):
# the bytes are the very thing the fee pays for.
RESULT_RELEASED_STATUSES = ("COMPLETED", "RESULT_READY", "DISPATCHED")


class DocumentPublic(BaseModel):
    kind: str
    slot: str
    name: str
    media_type: str
    size: int
    sha256: str


class EventPublic(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    action_label: str
    from_status: str | None
    to_status: str
    step: str | None
    note: str | None
    data: dict[str, Any]


class DueChangePublic(BaseModel):
    at: datetime
    due_at: datetime
    reason: str


class DossierPublic(BaseModel):
    dossier_code: str
    status: str
    status_label: str
    step: str | None
    procedure_code: str
    procedure_name: str
    agency_code: str
    agency_name: str
    channel: str
    delivery: str
    delivery_address: str | None
    applicant_name: str
    submitted_at: datetime
    received_at: datetime | None
    due_at: datetime | None
    statutory_due_at: datetime | None
    finished_at: datetime | None
    closed_at: datetime | None
    overdue: bool
    timeliness: str | None
    supplement_count: int
    apology_used: bool
    due_history: list[DueChangePublic]
    pending_supplement_items: list[str]
    fee_amount: int
    fee_lines: list[dict[str, Any]]
    payment_stage: str
    payment_status: str
    payment_method: str | None
    tracking_number: str | None
    rating: str | None
    form: dict[str, Any]
    documents: list[DocumentPublic]
    events: list[EventPublic]
    hand_overs: list[dict[str, Any]]
    allowed_actions: list[str]
    # The case's latest transition: send it back as If-Match with a decision so that a
    # case that moved since is not decided on blindly (409).
    seq: int = -1


class DossierSummary(BaseModel):
    dossier_code: str
    status: str
    status_label: str
    procedure_code: str
    procedure_name: str
    agency_code: str
    submitted_at: datetime
    due_at: datetime | None
    overdue: bool
    step: str | None
    applicant_name: str


class LookupResult(BaseModel):
    dossier_code: str
    status: str
    status_label: str
    procedure_name: str
    agency_name: str
    applicant: str
    submitted_at: datetime
    received_at: datetime | None
    due_at: datetime | None
    finished_at: datetime | None


# A dossier as read for a request: its row, columns as attributes (read only). Read with
# statements built once: an ORM object per request cost four times the CPU (0.6 ms
# against 0.15 for the dossier with its documents and events).
DossierRow = Row[Any]
_dossiers: Table = Dossier.__table__  # type: ignore[attr-defined]
_documents: Table = DossierDocument.__table__  # type: ignore[attr-defined]
_events: Table = DossierEvent.__table__  # type: ignore[attr-defined]
_DOSSIER = sa_select(_dossiers).where(_dossiers.c.code == bindparam("code"))
_DOCUMENTS = (
    sa_select(_documents.c.kind, _documents.c.slot, _documents.c.name,
              _documents.c.media_type, _documents.c.size, _documents.c.sha256)
    .where(_documents.c.dossier_code == bindparam("code"))
    .order_by(_documents.c.id)
)  # fmt: skip
_EVENTS = (
    sa_select(_events.c.seq, _events.c.at, _events.c.actor, _events.c.action,
              _events.c.from_status, _events.c.to_status, _events.c.step, _events.c.note,
              _events.c.data)
    .where(_events.c.dossier_code == bindparam("code"))
    .order_by(_events.c.seq)
)  # fmt: skip


def visible_dossier(session: Session, code: str, principal: Principal) -> DossierRow:
    """The dossier if the caller may see it; 404 otherwise (no existence leak)."""
    dossier = session.connection().execute(_DOSSIER, {"code": code}).first()
    if dossier is None or not can_see(dossier, principal):
        raise NotFound("dossier_not_found", "Không tìm thấy hồ sơ.")
    return dossier


def can_see(dossier: Dossier | DossierRow, principal: Principal) -> bool:
    if principal.is_citizen:
        return dossier.applicant_id == principal.id
    return dossier.agency_code == principal.agency_code or is_province_official(principal)


def is_province_official(principal: Principal) -> bool:
    """Supervisors of the provincial office oversee every agency (read only)."""
    return principal.has_role("supervisor") and principal.agency_code == PROVINCE_OFFICE_CODE


def result_released(status: str) -> bool:
    """Whether the applicant may have the result's bytes (officials always may)."""
    return status in RESULT_RELEASED_STATUSES


def _released_results(owner_id: int) -> Select[Any]:
    """The hashes of results the owner's dossiers have released."""
    return (
        sa_select(_documents.c.sha256)
        .join(_dossiers, _dossiers.c.code == _documents.c.dossier_code)
        .where(
            _dossiers.c.applicant_id == owner_id,
            _documents.c.kind == "result",
            _dossiers.c.status.in_(RESULT_RELEASED_STATUSES),
        )
    )


def _shown_to_owner(owner_id: int) -> ColumnElement[bool]:
    # A result joins "my documents" when it is issued (dichvucong.api.routes.dossiers),
    # possibly before the fee it waits for is paid: it is read through this filter,
    # so it appears (for listing, download and reuse) once its dossier releases it,
    # however the release happened (counter payment, the gateway's callback, ...).
    return or_(
        CitizenDocument.origin != "result",  # type: ignore[arg-type]
        CitizenDocument.sha256.in_(_released_results(owner_id)),  # type: ignore[attr-defined]
    )


def citizen_documents(session: Session, owner_id: int) -> list[CitizenDocument]:
    """The citizen's "my documents": their uploads, and the results released to them."""
    return list(
        session.exec(
            select(CitizenDocument)
            .where(CitizenDocument.owner_id == owner_id, _shown_to_owner(owner_id))
            .order_by(CitizenDocument.id.desc())  # type: ignore[union-attr]
        ).all()
    )


def withheld_documents(session: Session, owner_id: int, ids: Iterable[int]) -> set[int]:
    """Which of the owner's saved documents ``ids`` are results not released yet."""
    wanted = set(ids)
    if not wanted:
        return set()
    rows = session.exec(
        select(CitizenDocument.id).where(
            CitizenDocument.id.in_(wanted),  # type: ignore[union-attr]
            CitizenDocument.owner_id == owner_id,
            CitizenDocument.origin == "result",
            CitizenDocument.sha256.notin_(_released_results(owner_id)),  # type: ignore[attr-defined]
        )
    ).all()
    return {doc_id for doc_id in rows if doc_id is not None}


def actions_for(dossier: Dossier | DossierRow, principal: Principal) -> list[str]:
    allowed: dict[str, list[str]] = (
        dossier.state.get("allowed_actions", {}) if dossier.state else {}
    )
    if principal.is_citizen:
        actions = list(allowed.get("citizen", []))
        if dossier.status == "COMPLETED" and dossier.rating is None:
            actions.append("rate")
        return sorted(set(actions))
    if dossier.agency_code != principal.agency_code:
        return []
    actions = {a for role in principal.roles for a in allowed.get(role, [])}
    if "request_supplement" in actions and _supplement_request_closed(dossier):
        actions.discard("request_supplement")
    return sorted(actions)


def _supplement_request_closed(dossier: Dossier | DossierRow) -> bool:
    """Processing asks for a supplement within its days of reception: past them the
    workflow refuses, while the published actions change only at its next transition."""
    until = (dossier.state or {}).get("supplement_request_until")
    if dossier.status != "PROCESSING" or not isinstance(until, str):
        return False
    try:
        moment = datetime.fromisoformat(until)
    except ValueError:
        return False
    return moment.tzinfo is not None and datetime.now(UTC) > moment


class WorkItem(NamedTuple):
    """The columns a list line shows (``summary`` reads a Dossier or one of these): the
    officials' work list reads just these, into a tuple, the cheapest record to build
    from a row (``dossiers.inbox``)."""

    code: str
    status: str
    procedure_code: str
    agency_code: str
    submitted_at: datetime | None
    due_at: datetime | None
    overdue: bool
    current_step: str | None
    applicant_name: str
    reception_due_at: datetime | None = None


def summary(dossier: Dossier | WorkItem, catalog: Catalog) -> DossierSummary:
    return DossierSummary(
        dossier_code=dossier.code,
        status=dossier.status,
        status_label=texts.status_label(dossier.status),
        procedure_code=dossier.procedure_code,
        procedure_name=catalog.procedure_name(dossier.procedure_code),
        agency_code=dossier.agency_code,
        submitted_at=_aware(dossier.submitted_at),
        due_at=dossier.due_at,
        overdue=dossier.overdue,
        step=dossier.current_step,
        applicant_name=dossier.applicant_name,
    )


def detail(
    session: Session, dossier: Dossier | DossierRow, catalog: Catalog, principal: Principal
) -> DossierPublic:
    conn = session.connection()
    documents = conn.execute(_DOCUMENTS, {"code": dossier.code}).all()
    events = conn.execute(_EVENTS, {"code": dossier.code}).all()
    state = dossier.state or {}
    return DossierPublic(
        seq=dossier.last_seq,
        dossier_code=dossier.code,
        status=dossier.status,
        status_label=texts.status_label(dossier.status),
        step=dossier.current_step,
        procedure_code=dossier.procedure_code,
        procedure_name=catalog.procedure_name(dossier.procedure_code),
        agency_code=dossier.agency_code,
        agency_name=catalog.agency_name(dossier.agency_code),
        channel=dossier.channel,
        delivery=dossier.delivery,
        delivery_address=state.get("delivery_address") or dossier.delivery_address,
        applicant_name=dossier.applicant_name,
        submitted_at=_aware(dossier.submitted_at),
        received_at=dossier.received_at,
        due_at=dossier.due_at,
        statutory_due_at=dossier.statutory_due_at,
        finished_at=dossier.finished_at,
        closed_at=dossier.closed_at,
        overdue=dossier.overdue,
        timeliness=dossier.timeliness,
        supplement_count=dossier.supplement_count,
        apology_used=dossier.apology_used,
        due_history=[DueChangePublic(**d) for d in state.get("due_history", [])],
        pending_supplement_items=list(state.get("pending_items", [])),
        fee_amount=dossier.fee_amount,
        fee_lines=list(state.get("fee_lines", [])),
        payment_stage=dossier.payment_stage,
        payment_status=dossier.payment_status,
        payment_method=dossier.payment_method,
        tracking_number=dossier.tracking_number,
        rating=dossier.rating,
        form=dict(dossier.form_data or {}),
        documents=[
            DocumentPublic(
                kind=d.kind,
                slot=d.slot,
                name=d.name,
                media_type=d.media_type,
                size=d.size,
                sha256=d.sha256,
            )
            for d in documents
        ],
        events=[
            EventPublic(
                seq=e.seq,
                at=_aware(e.at),
                actor=_actor(e.actor, principal),
                action=e.action,
                action_label=texts.action_label(e.action),
                from_status=e.from_status,
                to_status=e.to_status,
                step=e.step,
                note=e.note,
                data=e.data or {},
            )
            for e in events
        ],
        hand_overs=list(state.get("hand_overs", [])),
        allowed_actions=actions_for(dossier, principal),
    )


_LOOKUP_COLUMNS = (
    Dossier.code,
    Dossier.status,
    Dossier.procedure_code,
    Dossier.agency_code,
    Dossier.applicant_name,
    Dossier.submitted_at,
    Dossier.received_at,
    Dossier.due_at,
    Dossier.finished_at,
)


def _lookup_by(column: Any) -> Any:
    # The columns the answer shows, not whole entities: loading ``Dossier`` decoded each
    # row's state and form data and built its ORM identity (≈ 1 ms of a 3-row lookup).
    return (
        sa_select(*_LOOKUP_COLUMNS)
        .where(column == bindparam("q"))
        .order_by(Dossier.submitted_at.desc())  # type: ignore[union-attr]
        .limit(bindparam("limit"))
    )


_LOOKUP_BY_ID_NUMBER = _lookup_by(Dossier.applicant_id_number)
_LOOKUP_BY_PASSPORT = _lookup_by(Dossier.applicant_passport)
_LOOKUP_BY_CODE = _lookup_by(Dossier.code)


def lookup(
    session: Session, catalog: Catalog, query: str, *, limit: int = 20
) -> list[LookupResult]:
    """Public lookup by dossier code, CCCD, passport number or the slip's QR URL."""
    q = lookup_term(query)
    if not q:
        return []
    if is_id_number(q):
        statement = _LOOKUP_BY_ID_NUMBER
    elif is_passport(q.upper()):
        statement, q = _LOOKUP_BY_PASSPORT, q.upper()
    else:
        # Codes are capitals only (agency ids match ^[0-9A-Z.]+$, then digits): one
        # typed in lowercase is the same code, as a passport number is.
        statement, q = _LOOKUP_BY_CODE, q.upper()
    rows = session.connection().execute(statement, {"q": q, "limit": limit}).all()
    return [
        LookupResult(
            dossier_code=code,
            status=status,
            status_label=texts.status_label(status),
            procedure_name=catalog.procedure_name(procedure_code),
            agency_name=catalog.agency_name(agency_code),
            applicant=mask_name(applicant_name),
            submitted_at=_aware(submitted_at),
            received_at=received_at,
            due_at=due_at,
            finished_at=finished_at,
        )
        for (code, status, procedure_code, agency_code, applicant_name, submitted_at,
             received_at, due_at, finished_at) in rows  # fmt: skip
    ]


def lookup_term(query: str) -> str:
    """What a lookup looks for: the text typed, or the ``q`` of the lookup URL the
    slip's QR code holds, whatever parameters the scanning app adds (``&utm=zalo``)."""
    q = query.strip()
    if "/" not in q:
        return q
    parts = urlsplit(q)
    if parts.query:
        return (parse_qs(parts.query).get("q") or [""])[0].strip()
    return parts.path.rstrip("/").rsplit("/", 1)[-1]  # a lookup path ending in the term


def _actor(actor: str, principal: Principal) -> str:
    """Citizens see "cán bộ" rather than officials' usernames."""
    if principal.is_official or actor in ("citizen", "system", "gateway", "postal"):
        return actor
    return "official"


def _aware(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment
