"""The read model's writer on SQLite (the PostgreSQL twin is in tests/pg): one write
per transition, never backwards, the API's own keys in ``state`` kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlmodel import select

from dichvucong.activities.contracts import DossierSnapshot, TransitionRecord
from dichvucong.activities.records import RecordActivities
from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier, DossierDocument, DossierEvent
from dichvucong.dossiers.inbox import open_work
from dichvucong.workflows.messages import DocumentRef

AGENCY = "000.00.12.H19"
CODE = f"{AGENCY}-261122-0001"
SUBMITTED = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)


def _record(seq: int, status: str, *, docs: int = 1, kind: str = "submitted") -> TransitionRecord:
    return TransitionRecord(
        dossier_code=CODE, seq=seq, at=SUBMITTED.replace(hour=1 + seq), actor="system",
        action="submit" if seq == 0 else "accept", from_status=None, to_status=status,
        step="chuyen_vien", note=f"n{seq}", data={"seq": seq},
        snapshot=DossierSnapshot(procedure_code="ly-lich-tu-phap", agency_code=AGENCY,
                                 status=status, current_step="chuyen_vien",
                                 submitted_at=SUBMITTED, due_at=SUBMITTED.replace(day=27),
                                 fee_amount=200_000, state={"seq": seq}),
        documents=[DocumentRef(sha256=f"{i:064d}", size=10, media_type="application/pdf",
                               slot=f"giay_{i}") for i in range(docs)],
        document_kind=kind,
    )  # fmt: skip


def test_each_transition_is_written_once_and_never_backwards(db: Database) -> None:
    records = RecordActivities(db)
    # The API created the row at submission, with its own keys in state.
    with db.session() as session:
        session.add(Dossier(code=CODE, procedure_code="ly-lich-tu-phap", agency_code=AGENCY,
                            submitted_at=SUBMITTED, form_data={"ho_ten": "An"},
                            state={"fee_lines": [{"amount": 200_000}]}))  # fmt: skip
        session.commit()
    assert records.record_transition(_record(0, "SUBMITTED", docs=2)) is True
    assert records.record_transition(_record(0, "SUBMITTED", docs=2)) is False  # a retry
    assert records.record_transition(_record(2, "COMPLETED", docs=1, kind="result")) is True
    late = _record(1, "PROCESSING", docs=2)
    assert records.record_transition(late) is True  # its event is kept ...
    with db.session() as session:
        row = session.get(Dossier, CODE)
        assert row is not None
        # ... but it does not move the dossier back
        assert (row.status, row.last_seq) == ("COMPLETED", 2)
        assert row.state == {"fee_lines": [{"amount": 200_000}], "seq": 2}
        assert row.form_data == {"ho_ten": "An"}
        assert row.fee_amount == 200_000 and row.due_at == SUBMITTED.replace(day=27)
        assert row.updated_at is not None and row.updated_at.tzinfo is not None
        events = session.exec(select(DossierEvent).where(DossierEvent.dossier_code == CODE))
        assert [(e.seq, e.to_status, e.note, e.data) for e in events] == [
            (0, "SUBMITTED", "n0", {"seq": 0}), (1, "PROCESSING", "n1", {"seq": 1}),
            (2, "COMPLETED", "n2", {"seq": 2})]  # fmt: skip
        docs = session.exec(select(DossierDocument).order_by(DossierDocument.id)).all()
        assert [(d.kind, d.slot) for d in docs] == [
            ("submitted", "giay_0"), ("submitted", "giay_1"), ("result", "giay_0")]  # fmt: skip
        assert docs[0].added_at == SUBMITTED.replace(hour=1)


def test_a_case_started_outside_the_api_gets_its_row(db: Database) -> None:
    first = replace(_record(0, "SUBMITTED"), documents=[])
    assert RecordActivities(db).record_transition(first) is True
    with db.session() as session:
        row = session.get(Dossier, CODE)
        assert row is not None
        assert (row.status, row.last_seq, row.state) == ("SUBMITTED", 0, {"seq": 0})
        assert row.submitted_at == SUBMITTED and row.channel == "online"


def test_the_inbox_follows_the_recorded_allowed_actions(db: Database) -> None:
    records = RecordActivities(db)
    with db.session() as session:
        session.add(Dossier(code=CODE, procedure_code="ly-lich-tu-phap", agency_code=AGENCY,
                            submitted_at=SUBMITTED, state={"fee_lines": []}))  # fmt: skip
        session.commit()
    for seq, role in enumerate(["reception", "specialist"]):
        record = _record(seq, "PROCESSING", docs=0)
        state = {"allowed_actions": {role: ["approve"], "citizen": []}}
        assert records.record_transition(
            replace(record, snapshot=replace(record.snapshot, state=state))
        )
        with db.session() as session:
            assert [w.code for w in open_work(session, AGENCY, [role])] == [CODE]
            others = {"reception", "specialist"} - {role}
            assert open_work(session, AGENCY, sorted(others)) == []
            assert open_work(session, AGENCY, ["citizen"]) == []
