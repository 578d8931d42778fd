"""Activities of FeedbackWorkflow: the feedback row and its notices.

Notices reuse the ``notification`` table: the feedback code in ``dossier_code``
and a fixed ``seq`` per kind, so (code, seq, channel, recipient) makes a retried
activity send nothing twice. The answer to feedback sent without an account goes to
"contact:<code>": the channels read the address from the feedback row, and its in-app
row (read by no page) is only the key that keeps the email and SMS from going twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import select
from temporalio import activity

from dichvucong.activities.notify import (
    Channel,
    Dispatcher,
    OutgoingMessage,
    contact_recipient,
    recipients_of,
)
from dichvucong.db.engine import Database
from dichvucong.feedback.contacts import feedback_contact
from dichvucong.feedback.messages import (
    FeedbackAnswerRecord,
    FeedbackDueRecord,
    FeedbackNotice,
    FeedbackOverdueRecord,
)
from dichvucong.feedback.models import Feedback, FeedbackStatus
from dichvucong.workflows.texts import fmt_moment

SUBJECTS = {
    "feedback_received": "Phản ánh, kiến nghị mới {code}",
    "feedback_at_risk": "Phản ánh {code} sắp đến hạn trả lời",
    "feedback_overdue": "Phản ánh {code} đã quá hạn trả lời",
    "feedback_answered": "Phản ánh, kiến nghị {code} đã được trả lời",
}
BODIES = {
    "feedback_received": "Phản ánh «{subject}» cần trả lời trước {due}.",
    "feedback_at_risk": "Phản ánh «{subject}» phải được trả lời trước {due}.",
    "feedback_overdue": "Phản ánh «{subject}» đã quá hạn trả lời ({due}).",
    "feedback_answered": "Cơ quan đã trả lời phản ánh «{subject}»:\n\n{answer}",
}


class FeedbackNotFound(LookupError):
    pass


class FeedbackActivities:
    def __init__(self, db: Database, channels: Sequence[Channel] = ()) -> None:
        self._db = db
        self._dispatcher = Dispatcher(db, channels)

    def _row(self, session, code: str) -> Feedback:  # type: ignore[no-untyped-def]
        row = session.exec(select(Feedback).where(Feedback.code == code)).first()
        if row is None:
            raise FeedbackNotFound(f"feedback {code} not in the read model")
        return row

    @activity.defn(name="record_feedback_due")
    def record_feedback_due(self, record: FeedbackDueRecord) -> None:
        with self._db.session() as session:
            row = self._row(session, record.code)
            row.due_at = record.due_at
            session.add(row)
            session.commit()

    @activity.defn(name="mark_feedback_overdue")
    def mark_feedback_overdue(self, record: FeedbackOverdueRecord) -> None:
        with self._db.session() as session:
            row = self._row(session, record.code)
            if row.answered_at is None:
                row.overdue = True
                session.add(row)
                session.commit()

    @activity.defn(name="record_feedback_answer")
    def record_feedback_answer(self, record: FeedbackAnswerRecord) -> None:
        with self._db.session() as session:
            row = self._row(session, record.code)
            row.status = FeedbackStatus.ANSWERED
            row.answered_at = record.answered_at
            row.answered_by = record.answered_by
            row.answer = record.answer
            row.published = record.published
            session.add(row)
            session.commit()

    @activity.defn(name="notify_feedback")
    def notify_feedback(self, notice: FeedbackNotice) -> int:
        """In-app rows (and outside channels for citizens and contacts); returns how many
        were new."""
        values = {"code": notice.code, "subject": notice.subject, "due": fmt_moment(notice.due_at),
                  "answer": self._answer(notice.code) if notice.kind == "feedback_answered" else ""}  # fmt: skip
        subject = SUBJECTS[notice.kind].format(**values)
        body = BODIES[notice.kind].format(**values)
        return sum(
            self._dispatcher.deliver(
                OutgoingMessage(
                    notice.code,
                    notice.seq,
                    recipient,
                    notice.kind,
                    subject,
                    body,
                    notice.citizen_id,
                )
            )
            for recipient in self._recipients(notice)
        )

    def _recipients(self, notice: FeedbackNotice) -> list[str]:
        """The agency's roles, the citizen's account, or, for feedback sent without an
        account, the contact its sender left (none left: nobody outside to tell)."""
        if notice.audience == "citizen" and notice.citizen_id is None:
            if feedback_contact(self._db, notice.code) is None:
                return []
            return [contact_recipient(notice.code)]
        return recipients_of(
            notice.audience,
            citizen_id=notice.citizen_id,
            agency_code=notice.agency_code,
            roles=notice.roles,
        )

    def _answer(self, code: str) -> str:
        with self._db.session() as session:
            return self._row(session, code).answer or ""

    def all(self) -> list:  # type: ignore[type-arg]
        return [
            self.record_feedback_due,
            self.mark_feedback_overdue,
            self.record_feedback_answer,
            self.notify_feedback,
        ]
