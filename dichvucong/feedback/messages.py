"""Typed inputs and outputs of FeedbackWorkflow and its activities (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Fixed transition numbers: (feedback code, seq) keys each notice, so a retry sends nothing twice.
SEQ_RECEIVED = 0
SEQ_AT_RISK = 1
SEQ_OVERDUE = 2
SEQ_ANSWERED = 3


@dataclass
class FeedbackInput:
    code: str
    agency_code: str
    received_at: datetime
    subject: str
    answer_days: int = 3  # settings.feedback_answer_days, copied when the case starts
    warn_days: int = 1
    citizen_id: int | None = None
    procedure_code: str | None = None
    dossier_code: str | None = None
    notify_roles: list[str] = field(default_factory=lambda: ["reception", "leader", "supervisor"])


@dataclass
class FeedbackAnswerInput:
    text: str
    official_id: str
    publish: bool = False


@dataclass
class FeedbackState:
    code: str
    status: str  # RECEIVED | ANSWERED
    due_at: datetime | None
    warn_at: datetime | None
    overdue: bool
    answered_at: datetime | None = None
    answered_by: str | None = None
    published: bool = False


@dataclass
class FeedbackDueRecord:
    code: str
    due_at: datetime


@dataclass
class FeedbackOverdueRecord:
    code: str


@dataclass
class FeedbackNotice:
    code: str
    seq: int
    kind: str  # feedback_received | feedback_at_risk | feedback_overdue | feedback_answered
    audience: str  # agency | citizen
    agency_code: str
    subject: str
    citizen_id: int | None = None
    roles: list[str] = field(default_factory=list)
    due_at: datetime | None = None


@dataclass
class FeedbackAnswerRecord:
    code: str
    answered_at: datetime
    answered_by: str
    answer: str
    published: bool
    on_time: bool
