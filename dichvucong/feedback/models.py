"""The feedback table (phản ánh, kiến nghị): one row per piece of feedback.

Created by migration ``0002`` (explicit ``op.create_table``); a test checks the
migrated table has exactly these columns.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from dichvucong.db.models import _ts


class FeedbackKind(StrEnum):
    QUESTION = "question"  # hỏi đáp
    REPORT = "report"  # phản ánh
    PROPOSAL = "proposal"  # kiến nghị
    COMPLAINT = "complaint"  # khiếu nại về hồ sơ


# Kinds that count as a complaint in the satisfaction rate when they concern a dossier.
COMPLAINT_KINDS: tuple[str, ...] = (
    FeedbackKind.REPORT,
    FeedbackKind.PROPOSAL,
    FeedbackKind.COMPLAINT,
)

KIND_LABELS: dict[str, str] = {
    "question": "Hỏi đáp",
    "report": "Phản ánh",
    "proposal": "Kiến nghị",
    "complaint": "Khiếu nại về hồ sơ",
}


class FeedbackStatus(StrEnum):
    RECEIVED = "RECEIVED"
    ANSWERED = "ANSWERED"


class Feedback(SQLModel, table=True):
    __tablename__ = "feedback"
    __table_args__ = (sa.Index("ix_feedback_agency_received", "agency_code", "received_at"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=64)
    kind: str = Field(default="question", max_length=12)
    procedure_code: str | None = Field(default=None, index=True, max_length=40)
    agency_code: str = Field(max_length=40)
    dossier_code: str | None = Field(default=None, index=True, max_length=64)
    citizen_id: int | None = Field(default=None, index=True)
    contact_name: str | None = Field(default=None, max_length=120)
    contact_email: str | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=15)
    subject: str = Field(max_length=200)
    body: str
    status: str = Field(default=FeedbackStatus.RECEIVED, index=True, max_length=12)
    received_at: datetime | None = _ts(nullable=False)
    due_at: datetime | None = _ts(index=True)
    answered_at: datetime | None = _ts()
    answered_by: str | None = Field(default=None, max_length=80)
    answer: str | None = None
    published: bool = Field(default=False, index=True)
    overdue: bool = False
