"""Tables of the read model. Schema changes go through Alembic migrations
(``dichvucong/db/migrations``); ``tests/db/test_migrations.py`` checks the
migrations produce exactly these tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import JSON, Column, Field, SQLModel

from dichvucong.db.types import AwareDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    column = Column(AwareDateTime(), nullable=nullable, index=index)
    if nullable:
        return Field(default=None, sa_column=column)
    return Field(default_factory=utcnow, sa_column=column)


# --- catalog copy (the YAML files are the source; this copy serves joins and reports)


class AgencyRow(SQLModel, table=True):
    __tablename__ = "agency"
    code: str = Field(primary_key=True, max_length=40)
    name: str
    admin_level: str = Field(index=True, max_length=20)
    parent_code: str | None = Field(default=None, max_length=40)


class ProcedureRow(SQLModel, table=True):
    __tablename__ = "procedure"
    code: str = Field(primary_key=True, max_length=40)
    national_code: str | None = Field(default=None, max_length=40)
    name: str
    sector: str = Field(index=True)
    field: str = Field(index=True)
    admin_level: str = Field(index=True, max_length=20)
    service_level: str = Field(max_length=10)
    definition: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# --- accounts


class CitizenAccount(SQLModel, table=True):
    __tablename__ = "citizen_account"
    id: int | None = Field(default=None, primary_key=True)
    full_name: str
    id_number: str = Field(unique=True, index=True, max_length=12)
    date_of_birth: date
    phone: str = Field(unique=True, index=True, max_length=15)
    email: str | None = Field(default=None, unique=True, index=True, max_length=254)
    # Optional: a citizen who applies with a passport finds dossiers by it (lookup).
    passport_number: str | None = Field(default=None, unique=True, index=True, max_length=12)
    address: str
    password_hash: str
    created_at: datetime | None = _ts(nullable=False)
    # When VNeID proved this account's CCCD (created by it, or linked by its owner while
    # signed in): only then does a VNeID sign-in enter it.
    vneid_verified_at: datetime | None = _ts()


class OfficialAccount(SQLModel, table=True):
    __tablename__ = "official_account"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)
    full_name: str
    agency_code: str = Field(index=True, max_length=40)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    password_hash: str
    active: bool = True
    created_at: datetime | None = _ts(nullable=False)


# --- dossiers (projection of DossierWorkflow)


class DossierCodeCounter(SQLModel, table=True):
    """Per agency and day, the last sequence handed out (codes unique under concurrency)."""

    __tablename__ = "dossier_code_counter"
    agency_code: str = Field(primary_key=True, max_length=40)
    day: str = Field(primary_key=True, max_length=6)  # YYMMDD
    last_number: int = 0


class Dossier(SQLModel, table=True):
    __tablename__ = "dossier"
    __table_args__ = (sa.Index("ix_dossier_agency_status_due", "agency_code", "status", "due_at"),)
    code: str = Field(primary_key=True, max_length=64)
    procedure_code: str = Field(index=True, max_length=40)
    agency_code: str = Field(index=True, max_length=40)
    applicant_id: int | None = Field(default=None, index=True, foreign_key="citizen_account.id")
    applicant_id_number: str | None = Field(default=None, index=True, max_length=12)
    applicant_passport: str | None = Field(default=None, index=True, max_length=12)
    applicant_name: str = ""
    channel: str = Field(default="online", max_length=10)  # online | counter | postal
    delivery: str = Field(default="online", max_length=10)  # online | postal | counter
    delivery_address: str | None = None
    idempotency_key: str | None = Field(default=None, unique=True, max_length=128)
    form_data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))

    status: str = Field(default="SUBMITTED", index=True, max_length=24)
    current_step: str | None = Field(default=None, max_length=40)
    last_seq: int = -1
    submitted_at: datetime | None = _ts(nullable=False)
    received_at: datetime | None = _ts()
    due_at: datetime | None = _ts(index=True)
    statutory_due_at: datetime | None = _ts()
    # Waiting for reception: the moment it must be received or refused by (the inbox
    # marks a dossier past it). Migration 0009.
    reception_due_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()
    closed_at: datetime | None = _ts()
    overdue: bool = Field(default=False, index=True)
    was_overdue: bool = False
    timeliness: str | None = Field(default=None, max_length=10)  # early | on_time | late
    supplement_count: int = 0
    apology_used: bool = False
    fee_amount: int = 0
    payment_stage: str = Field(default="none", max_length=16)
    payment_status: str = Field(default="none", max_length=16)  # none|pending|paid|expired|refund_requested|refund_failed
    payment_method: str | None = Field(default=None, max_length=16)  # online | counter
    paid_at: datetime | None = _ts()
    tracking_number: str | None = Field(default=None, max_length=40)
    rating: str | None = Field(default=None, max_length=20)
    rating_comment: str | None = None
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The roles of ``state["allowed_actions"]`` with an action now, as "|reception|citizen|":
    # the officials' inbox filters on it without parsing each open row's state (a JSON
    # text of about 1 KB that SQLite and PostgreSQL's ``json`` parse again at every read).
    acting_roles: str = Field(default="", max_length=200)
    updated_at: datetime | None = _ts()


def acting_roles(state: Mapping[str, Any] | None) -> str:
    """``Dossier.acting_roles`` for ``state``: every role with at least one action."""
    allowed = (state or {}).get("allowed_actions") or {}
    roles = sorted(role for role, actions in allowed.items() if actions)
    return f"|{'|'.join(roles)}|" if roles else ""


def acting_role_marker(role: str) -> str:
    """What ``acting_roles`` holds for ``role``: searched for as a substring."""
    return f"|{role}|"


@event.listens_for(Dossier, "before_insert")
@event.listens_for(Dossier, "before_update")
def _derive_acting_roles(_mapper: Any, _connection: Any, dossier: Dossier) -> None:
    # Every ORM write keeps the column true to the state; the Core writers (the
    # submission's insert, ``activities.records``, the benchmark's bulk load) call
    # ``acting_roles`` themselves.
    dossier.acting_roles = acting_roles(dossier.state)


class DossierDocument(SQLModel, table=True):
    __tablename__ = "dossier_document"
    __table_args__ = (sa.UniqueConstraint("dossier_code", "kind", "slot", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    dossier_code: str = Field(index=True, foreign_key="dossier.code", max_length=64)
    kind: str = Field(max_length=12)  # submitted | supplement | result
    slot: str = Field(max_length=60)
    name: str
    media_type: str = Field(max_length=60)
    size: int
    sha256: str = Field(index=True, max_length=64)
    added_at: datetime | None = _ts(nullable=False)


class DossierEvent(SQLModel, table=True):
    """Append-only; (dossier_code, seq) makes record_transition idempotent."""

    __tablename__ = "dossier_event"
    dossier_code: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)
    at: datetime | None = _ts(nullable=False)
    actor: str = Field(max_length=80)
    action: str = Field(max_length=40)
    from_status: str | None = Field(default=None, max_length=24)
    to_status: str = Field(max_length=24)
    step: str | None = Field(default=None, max_length=40)
    note: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Notification(SQLModel, table=True):
    """In-app notices; unique per (dossier, transition, channel, recipient)."""

    __tablename__ = "notification"
    __table_args__ = (sa.UniqueConstraint("dossier_code", "seq", "channel", "recipient"),)
    id: int | None = Field(default=None, primary_key=True)
    dossier_code: str = Field(index=True, max_length=64)
    seq: int
    channel: str = Field(max_length=10)  # inapp | email | sms
    recipient: str = Field(index=True, max_length=120)  # "citizen:<id>" | "agency:<code>:<role>"
    kind: str = Field(max_length=40)
    subject: str
    body: str
    created_at: datetime | None = _ts(nullable=False)
    read_at: datetime | None = _ts()
    # An outside channel's row while an attempt holds its claim and may be sending
    # (created_at: the claim's moment); False once the message went out. In-app rows,
    # and rows of releases before 0008, are never in flight.
    in_flight: bool = False


class StoredDocument(SQLModel, table=True):
    """Index of the content-addressed document store."""

    __tablename__ = "stored_document"
    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    media_type: str = Field(max_length=60)
    created_at: datetime | None = _ts(nullable=False)


class CitizenDocument(SQLModel, table=True):
    """A citizen's "my documents": uploads and results kept for reuse."""

    __tablename__ = "citizen_document"
    __table_args__ = (sa.UniqueConstraint("owner_id", "sha256", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(index=True, foreign_key="citizen_account.id")
    sha256: str = Field(max_length=64)
    name: str
    media_type: str = Field(max_length=60)
    size: int
    origin: str = Field(default="upload", max_length=12)  # upload | result
    created_at: datetime | None = _ts(nullable=False)


class NationalSync(SQLModel, table=True):
    """One transition reported (or to be reported) to the National Public Service
    Portal; (dossier_code, seq) is also the idempotency key sent to the portal.
    status: synced | rejected (the portal's error code, needs a person) | failed
    (transport error, the nightly re-sync tries again)."""

    __tablename__ = "national_sync"
    __table_args__ = (sa.Index("ix_national_sync_agency_kind", "agency_code", "kind"),)
    dossier_code: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)
    kind: str = Field(max_length=10)  # dossier | status
    agency_code: str = Field(max_length=40)
    procedure_code: str = Field(max_length=40)
    status: str = Field(index=True, max_length=10)
    reason: str | None = None
    attempts: int = 0
    request: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    first_attempt_at: datetime | None = _ts(nullable=False)
    synced_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()
