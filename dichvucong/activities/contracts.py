"""Inputs and outputs of the activities the dossier workflow calls.

Kept apart from the implementations so workflow code imports only plain data.
"""

# No `from __future__ import annotations` here: the SDK resolves these dataclasses'
# type hints on every payload it decodes, and string annotations are compiled again
# each time (a TransitionRecord decoded in 367 µs with them, 140 µs without).

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dichvucong.workflows.messages import DocumentRef


@dataclass
class DeadlineRequest:
    start: datetime
    working_days: float | None = None
    working_hours: float | None = None
    # Due at the close of office hours on the (cut-off adjusted) start's working day.
    same_day: bool = False
    warn_days: int = 0  # also return the moment this many working days before the due moment
    # "HH:MM" Vietnam time: a start later than this moves to the next working day's opening
    # (paper dossiers received after 15:00).
    cutoff: str | None = None
    # Also return the close of office hours on the working day this many working days
    # after the start ("within 3 working days of reception" lasts all of the third day).
    also_days: int = 0


@dataclass
class Deadline:
    starts_at: datetime  # the start moved to the next working moment
    due_at: datetime
    warn_at: datetime | None = None
    also_at: datetime | None = None


@dataclass
class DossierSnapshot:
    """The read-model columns a transition leaves behind."""

    procedure_code: str
    agency_code: str
    status: str
    current_step: str | None
    submitted_at: datetime
    received_at: datetime | None = None
    due_at: datetime | None = None
    statutory_due_at: datetime | None = None
    finished_at: datetime | None = None
    closed_at: datetime | None = None
    overdue: bool = False
    was_overdue: bool = False
    timeliness: str | None = None
    supplement_count: int = 0
    apology_used: bool = False
    fee_amount: int = 0
    payment_stage: str = "none"
    payment_status: str = "none"
    payment_method: str | None = None
    paid_at: datetime | None = None
    tracking_number: str | None = None
    delivery: str = "online"
    # While the dossier waits for reception: when it must be received, accepted or
    # refused by (the reception limit); None otherwise.
    reception_due_at: datetime | None = None
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class TransitionRecord:
    dossier_code: str
    seq: int
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str
    step: str | None
    snapshot: DossierSnapshot
    note: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    documents: list[DocumentRef] = field(default_factory=list)
    document_kind: str = "submitted"  # submitted | supplement | result


@dataclass
class NotifyRequest:
    """One notice about one transition; (dossier_code, seq, kind) keys it."""

    dossier_code: str
    seq: int
    kind: str  # status_changed | reception_late | at_risk | overdue | payment_reminder | payment_expired
    audience: str  # citizen | agency
    procedure_name: str
    agency_code: str
    status: str
    citizen_id: int | None = None
    roles: list[str] = field(default_factory=list)
    due_at: datetime | None = None
    items: list[str] = field(default_factory=list)
    note: str | None = None


@dataclass
class ShipmentRequest:
    dossier_code: str
    idempotency_key: str
    address: str
    applicant_id: int | None
    documents: list[DocumentRef] = field(default_factory=list)


@dataclass
class Shipment:
    tracking_number: str
    created_at: datetime


@dataclass
class RefundRequest:
    dossier_code: str
    idempotency_key: str
    payment_ref: str
    amount: int
    reason: str


@dataclass
class RefundResult:
    refund_ref: str
    status: str


@dataclass
class PaymentQuery:
    dossier_code: str
    payment_ref: str


@dataclass
class PaymentStatus:
    status: str  # paid | pending | cancelled | expired | not_found
    amount: int = 0
    transaction_id: str = ""


@dataclass
class NationalSyncRequest:
    """One transition to report to the National Public Service Portal.

    (dossier_code, seq) is the idempotency key; ``kind`` is "dossier" for the
    first report (at reception) and "status" for every later transition.
    """

    dossier_code: str
    seq: int
    kind: str
    procedure_code: str
    agency_code: str
    channel: str
    status: str
    step: str | None
    at: datetime
    received_at: datetime | None = None
    due_at: datetime | None = None
    finished_at: datetime | None = None
    actor_unit: str | None = None
    result: str | None = None


@dataclass
class NationalSyncResult:
    status: str  # synced | rejected | skipped
    reason: str | None = None
