"""The officials' read side of feedback: the agency's list and one item.

Reads the ``feedback`` table only (FeedbackActivities keeps it in step with the
workflow); rights are the caller's scope (see ``feedback_scope`` in
api/routes/supervision.py): a list of agency codes, None for the whole province.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from dichvucong.feedback.models import Feedback

LIST_LIMIT = 200  # newest first; older items are still reachable by their code


@dataclass(frozen=True)
class FeedbackLine:
    code: str
    kind: str
    agency_code: str
    subject: str
    received_at: datetime | None
    due_at: datetime | None
    answered_at: datetime | None
    state: str  # answered | overdue | soon | open


def feedback_state(row: Feedback, now: datetime, soon: datetime) -> str:
    """Answered, overdue (the workflow's flag, or the due moment passed before its timer
    reached the read model), due within a working day, or just open."""
    if row.answered_at is not None:
        return "answered"
    if row.overdue or (row.due_at is not None and row.due_at <= now):
        return "overdue"
    if row.due_at is not None and row.due_at <= soon:
        return "soon"
    return "open"


def agency_feedback(
    session: Session,
    scope: list[str] | None,
    now: datetime,
    soon: datetime,
    *,
    unanswered_only: bool = False,
    limit: int = LIST_LIMIT,
) -> list[FeedbackLine]:
    stmt = select(Feedback)
    if scope is not None:
        stmt = stmt.where(col(Feedback.agency_code).in_(scope))
    if unanswered_only:
        stmt = stmt.where(col(Feedback.answered_at).is_(None))
    stmt = stmt.order_by(col(Feedback.received_at).desc(), col(Feedback.id).desc()).limit(limit)
    return [
        FeedbackLine(
            code=row.code,
            kind=row.kind,
            agency_code=row.agency_code,
            subject=row.subject,
            received_at=row.received_at,
            due_at=row.due_at,
            answered_at=row.answered_at,
            state=feedback_state(row, now, soon),
        )
        for row in session.exec(stmt)
    ]


def visible_feedback(session: Session, code: str, scope: list[str] | None) -> Feedback | None:
    """The item when it exists and is in scope; None otherwise (another agency's item is
    "not found", as another agency's case is)."""
    row = session.exec(select(Feedback).where(Feedback.code == code)).first()
    if row is None or (scope is not None and row.agency_code not in scope):
        return None
    return row
