"""The read model's writer: one idempotent transaction per workflow transition.

Key: (dossier code, transition sequence). A retried activity finds its event
row and changes nothing; an older transition arriving late never overwrites a
newer snapshot (``last_seq`` guards the dossier row).
"""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio import activity

from dichvucong.activities.contracts import DossierSnapshot, TransitionRecord
from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier, DossierDocument, DossierEvent, utcnow

SNAPSHOT_COLUMNS = tuple(f for f in DossierSnapshot.__dataclass_fields__ if f != "state")


class RecordActivities:
    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name="record_transition")
    def record_transition(self, record: TransitionRecord) -> bool:
        """Returns False when this transition was already recorded (a retry)."""
        with self._db.session() as session:
            try:
                return self._write(session, record)
            except IntegrityError:
                # A concurrent retry of the same transition won the race: same outcome.
                session.rollback()
                return False

    def _write(self, session: Session, record: TransitionRecord) -> bool:
        existing = session.get(DossierEvent, (record.dossier_code, record.seq))
        if existing is not None:
            return False
        dossier = session.get(Dossier, record.dossier_code)
        if dossier is None:
            # Started outside the API (Temporal CLI, tests): the first record creates the row.
            dossier = Dossier(
                code=record.dossier_code,
                procedure_code=record.snapshot.procedure_code,
                agency_code=record.snapshot.agency_code,
                submitted_at=record.snapshot.submitted_at,
            )
        if record.seq > dossier.last_seq:
            _apply_snapshot(dossier, record.snapshot)
            dossier.last_seq = record.seq
            dossier.updated_at = utcnow()
        session.add(dossier)
        session.add(
            DossierEvent(
                dossier_code=record.dossier_code,
                seq=record.seq,
                at=record.at,
                actor=record.actor,
                action=record.action,
                from_status=record.from_status,
                to_status=record.to_status,
                step=record.step,
                note=record.note,
                data=record.data,
            )
        )
        session.flush()
        known = {
            (d.kind, d.slot, d.sha256)
            for d in session.exec(
                select(DossierDocument).where(DossierDocument.dossier_code == record.dossier_code)
            )
        }
        for ref in record.documents:
            if (record.document_kind, ref.slot, ref.sha256) in known:
                continue
            known.add((record.document_kind, ref.slot, ref.sha256))
            session.add(
                DossierDocument(
                    dossier_code=record.dossier_code,
                    kind=record.document_kind,
                    slot=ref.slot,
                    name=ref.name or ref.slot,
                    media_type=ref.media_type,
                    size=ref.size,
                    sha256=ref.sha256,
                    added_at=record.at,
                )
            )
        session.commit()
        return True


def _apply_snapshot(dossier: Dossier, snapshot: DossierSnapshot) -> None:
    values = asdict(snapshot)
    for column in SNAPSHOT_COLUMNS:
        setattr(dossier, column, values[column])
    # Merge: the API keeps its own keys there (fee lines) that the workflow does not send.
    dossier.state = {**(dossier.state or {}), **values["state"]}
