"""The read model's writer: one idempotent transaction per workflow transition.

Key: (dossier code, transition sequence). A retried activity finds its event
row and changes nothing; an older transition arriving late never overwrites a
newer snapshot (``last_seq`` guards the dossier row).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
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
        # Statements, not ORM units of work: this runs at every transition of every case.
        code, seq = record.dossier_code, record.seq
        seen = select(DossierEvent.seq).where(
            DossierEvent.dossier_code == code, DossierEvent.seq == seq
        )
        if session.exec(seen).first() is not None:
            return False
        current = session.exec(
            select(Dossier.last_seq, Dossier.state).where(Dossier.code == code)
        ).first()
        if current is None:
            # Started outside the API (Temporal CLI, tests): the first record creates the row.
            dossier = Dossier(code=code, procedure_code=record.snapshot.procedure_code,
                              agency_code=record.snapshot.agency_code,
                              submitted_at=record.snapshot.submitted_at)  # fmt: skip
            _apply_snapshot(dossier, record.snapshot)
            dossier.last_seq, dossier.updated_at = seq, utcnow()
            session.add(dossier)
            session.flush()
        elif seq > current.last_seq:
            values = _snapshot_values(record.snapshot)
            # Merge: the API keeps its own keys there (fee lines) that the workflow does not send.
            values["state"] = {**(current.state or {}), **values["state"]}
            session.execute(
                update(Dossier)
                .where(col(Dossier.code) == code, col(Dossier.last_seq) < seq)
                .values(**values, last_seq=seq, updated_at=utcnow())
            )
        session.execute(insert(DossierEvent).values(
            dossier_code=code, seq=seq, at=record.at, actor=record.actor, action=record.action,
            from_status=record.from_status, to_status=record.to_status, step=record.step,
            note=record.note, data=record.data))  # fmt: skip
        if record.documents:
            self._add_documents(session, record)
        session.commit()
        return True

    @staticmethod
    def _add_documents(session: Session, record: TransitionRecord) -> None:
        known = set(
            session.exec(
                select(DossierDocument.kind, DossierDocument.slot, DossierDocument.sha256).where(
                    DossierDocument.dossier_code == record.dossier_code
                )
            )
        )
        rows = []
        for ref in record.documents:
            key = (record.document_kind, ref.slot, ref.sha256)
            if key in known:
                continue
            known.add(key)
            rows.append(dict(dossier_code=record.dossier_code, kind=record.document_kind,
                             slot=ref.slot, name=ref.name or ref.slot, media_type=ref.media_type,
                             size=ref.size, sha256=ref.sha256, added_at=record.at))  # fmt: skip
        if rows:
            session.execute(insert(DossierDocument), rows)


def _snapshot_values(snapshot: DossierSnapshot) -> dict[str, Any]:
    return {column: getattr(snapshot, column) for column in SNAPSHOT_COLUMNS} | {
        "state": dict(snapshot.state)
    }


def _apply_snapshot(dossier: Dossier, snapshot: DossierSnapshot) -> None:
    for column, value in _snapshot_values(snapshot).items():
        setattr(dossier, column, value)
