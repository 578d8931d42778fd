"""The read model's record of a payment that arrived after its case closed
(``workflows.late_refund``): an event on the dossier's timeline, where officials and
accountants see it, and the dossier's payment status.

The case's own workflow is over and writes no more events, so these take the next
sequence numbers. Idempotent on (dossier, action, key): a retried activity, or a
second late-refund run, finds its event and changes nothing.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio import activity

from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier, DossierEvent, utcnow
from dichvucong.workflows.late_refund import LatePaymentEvent


class LatePaymentActivities:
    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name="record_late_payment")
    def record_late_payment(self, event: LatePaymentEvent) -> bool:
        """False when the event was already recorded (a retry)."""
        with self._db.session() as session:
            try:
                return _write(session, event)
            except IntegrityError:
                # A concurrent writer took the sequence number: the retry takes the next.
                session.rollback()
                raise


def _write(session: Session, event: LatePaymentEvent) -> bool:
    code = event.dossier_code
    dossier = session.get(Dossier, code)
    if dossier is None:
        raise ValueError(f"no dossier {code} in the read model")
    recorded = session.exec(
        select(DossierEvent).where(
            DossierEvent.dossier_code == code, DossierEvent.action == event.action
        )
    ).all()
    if any((row.data or {}).get("late_key") == event.key for row in recorded):
        return False
    last = session.exec(
        select(func.max(DossierEvent.seq)).where(DossierEvent.dossier_code == code)
    ).one()
    seq = max(dossier.last_seq, last if last is not None else -1) + 1
    session.add(
        DossierEvent(
            dossier_code=code,
            seq=seq,
            at=event.at,
            actor=event.actor,
            action=event.action,
            from_status=dossier.status,
            to_status=dossier.status,
            step=dossier.current_step,
            note=event.note,
            data={**event.data, "late_key": event.key},
        )
    )
    if event.payment_status is not None:
        dossier.payment_status = event.payment_status
    dossier.last_seq, dossier.updated_at = seq, utcnow()
    session.add(dossier)
    session.commit()
    return True
