"""Typed inputs of DossierWorkflow: its start input, its updates/signals and its
query result. One dataclass per message, so fields can be added later without
breaking running cases (new fields always get defaults).

Datetimes cross the wire as aware ``datetime`` (the SDK's JSON converter keeps
ISO strings with offsets).
"""

# No `from __future__ import annotations` here: the SDK resolves these dataclasses'
# type hints on every payload it decodes, and string annotations are compiled again
# each time (a TransitionRecord decoded in 367 µs with them, 140 µs without).

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class CaseStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    SUPPLEMENT_REQUESTED = "SUPPLEMENT_REQUESTED"
    PROCESSING = "PROCESSING"
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    RESULT_READY = "RESULT_READY"
    DISPATCHED = "DISPATCHED"
    COMPLETED = "COMPLETED"
    REFUSED = "REFUSED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"


FINAL_STATUSES = frozenset(
    {CaseStatus.COMPLETED, CaseStatus.REFUSED, CaseStatus.REJECTED, CaseStatus.WITHDRAWN}
)


class PaymentStage(StrEnum):
    NONE = "none"
    ON_SUBMISSION = "on_submission"
    BEFORE_RESULT = "before_result"


class Delivery(StrEnum):
    ONLINE = "online"
    POSTAL = "postal"
    COUNTER = "counter"


# Steps that are not catalog processing steps but still name what the case waits for.
STEP_RECEPTION = "reception"
STEP_ISSUE = "issue_result"
STEP_PAYMENT = "payment"
STEP_DELIVERY = "delivery"


@dataclass
class DocumentRef:
    """A document in the store: content-addressed, never the bytes themselves."""

    sha256: str
    size: int
    media_type: str
    slot: str
    name: str = ""


@dataclass
class StepSpec:
    key: str
    name: str
    role: str
    budget_days: float


@dataclass
class CaseRules:
    """Numbers set by law or the province, copied from settings when the case starts
    so a running case keeps the rules it began with."""

    reception_limit_hours: float = 8
    supplement_window_days: int = 30
    payment_reminder_days: int = 2
    payment_expiry_days: int = 5
    at_risk_days: int = 1
    postal_dispatch_limit_hours: int = 24
    payment_query_minutes: int = 30  # no callback by then: ask the gateway (self-healing)
    paper_cutoff: str = "15:00"  # a paper dossier received later starts the next working day
    supplement_request_days: int = 3  # processing asks for a supplement within this of reception
    outside_call_seconds: int = 30  # one attempt at the postal service or the gateway
    # Switched off (no national portal configured): no sync activity is scheduled at all.
    national_sync: bool = True


@dataclass
class DossierInput:
    dossier_code: str
    procedure_code: str
    procedure_name: str
    agency_code: str
    agency_name: str
    submitted_at: datetime
    steps: list[StepSpec]
    time_limit_days: float | None = None
    time_limit_hours: float | None = None
    # "Within the day of reception, or the next working day if received after 15:00"
    # (Decree 23/2015, art. 7): due at the close of that day; started before this field
    # existed, a case keeps its working hours.
    time_limit_same_day: bool = False
    applicant_id: int | None = None
    channel: str = "online"
    delivery: str = Delivery.ONLINE
    delivery_address: str | None = None
    payment_stage: str = PaymentStage.NONE
    fee_amount: int = 0
    fee_lines: list[dict[str, Any]] = field(default_factory=list)
    documents: list[DocumentRef] = field(default_factory=list)
    form: dict[str, Any] = field(default_factory=dict)
    rules: CaseRules | None = None
    # The workflow changes (``workflows.patches``) this case was started with: it runs
    # them without patch markers. Empty for cases started before the list existed.
    patches: list[str] = field(default_factory=list)


# --- officials' decisions (Updates with validators, and signals of the same name)


@dataclass
class Actor:
    """Who acts. ``role`` is checked by the API; the workflow records it."""

    official_id: str = "system"
    role: str | None = None
    # The case's transition (``seq``) the official decided on, as their page showed it:
    # a decision from a page drawn before the case moved is refused, not applied to a
    # step the page never showed. None: not checked (the API without If-Match).
    seen_seq: int | None = None


@dataclass
class AcceptInput:
    actor: Actor = field(default_factory=Actor)
    note: str = ""
    # A paper dossier taken at the counter and entered afterwards: the statutory
    # clock runs from the real reception moment (never for online dossiers).
    received_at: datetime | None = None


@dataclass
class RefuseInput:
    reason: str
    actor: Actor = field(default_factory=Actor)


@dataclass
class RequestSupplementInput:
    items: list[str]
    note: str = ""
    actor: Actor = field(default_factory=Actor)


@dataclass
class ApproveInput:
    note: str = ""
    actor: Actor = field(default_factory=Actor)


@dataclass
class SendBackInput:
    to_step: str
    reason: str
    actor: Actor = field(default_factory=Actor)


@dataclass
class RejectInput:
    reasons: list[str]
    actor: Actor = field(default_factory=Actor)


@dataclass
class ApologizeInput:
    new_due: datetime
    reason: str
    actor: Actor = field(default_factory=Actor)


@dataclass
class CounterPaymentInput:
    receipt_no: str
    amount: int
    actor: Actor = field(default_factory=Actor)


@dataclass
class IssueResultInput:
    documents: list[DocumentRef]
    note: str = ""
    actor: Actor = field(default_factory=Actor)


@dataclass
class HandOverInput:
    note: str = ""
    actor: Actor = field(default_factory=Actor)


@dataclass
class RedispatchInput:
    address: str | None = None
    actor: Actor = field(default_factory=Actor)


# --- citizen and outside systems (signals)


@dataclass
class SupplementInput:
    documents: list[DocumentRef] = field(default_factory=list)
    form_changes: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class WithdrawInput:
    reason: str = ""


@dataclass
class PaymentConfirmedInput:
    payment_ref: str
    amount: int
    transaction_id: str = ""


@dataclass
class PostalUpdateInput:
    tracking_number: str
    status: str  # picked_up | delivered | returned
    note: str = ""


# --- query result


@dataclass
class HandOver:
    """One line of the processing control slip (Form 05)."""

    step: str
    step_name: str
    role: str
    received_at: datetime
    due_at: datetime | None = None
    finished_at: datetime | None = None
    official_id: str | None = None
    action: str | None = None
    result: str | None = None  # early | on_time | late


@dataclass
class DueChange:
    at: datetime
    due_at: datetime
    reason: str  # received | supplement_restart | apology


@dataclass
class DossierState:
    dossier_code: str
    status: str
    step: str | None
    step_name: str | None
    due_at: datetime | None
    statutory_due_at: datetime | None
    overdue: bool
    was_overdue: bool
    supplement_count: int
    apology_used: bool
    payment_status: str
    fee_amount: int
    delivery: str
    tracking_number: str | None
    seq: int
    allowed_actions: dict[str, list[str]]  # role -> actions allowed now
    hand_overs: list[HandOver]
    due_history: list[DueChange]
    pending_supplement_items: list[str]
    result_documents: list[DocumentRef]
    timeliness: str | None = None
    received_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass
class DossierOutcome:
    status: str
    timeliness: str | None
    finished_at: datetime | None
