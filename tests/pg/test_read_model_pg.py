"""The read model's code paths on PostgreSQL (psycopg 3): migrations, idempotent
transitions, dossier codes under concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel, select

import dichvucong.db.models  # noqa: F401
import dichvucong.feedback.models  # noqa: F401
from dichvucong.activities.contracts import DossierSnapshot, TransitionRecord
from dichvucong.activities.records import RecordActivities
from dichvucong.db.engine import Database, make_engine
from dichvucong.db.migrate import upgrade
from dichvucong.db.models import Dossier, DossierDocument, DossierEvent
from dichvucong.dossiers.codes import allocate_code
from dichvucong.workflows.messages import DocumentRef

AGENCY = "000.00.12.H19"
SUBMITTED = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def test_migrations_match_the_models_on_postgresql(pg_url: str) -> None:
    assert pg_url.startswith("postgresql+psycopg://")
    upgrade(pg_url)
    upgrade(pg_url)  # idempotent
    engine = make_engine(pg_url)
    try:
        with engine.connect() as connection:
            assert connection.dialect.name == "postgresql"
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ on PostgreSQL: {diff}"


def _record(code: str, seq: int, status: str, at: datetime) -> TransitionRecord:
    return TransitionRecord(
        dossier_code=code,
        seq=seq,
        at=at,
        actor="system",
        action="submit" if seq == 0 else "accept",
        from_status=None if seq == 0 else "SUBMITTED",
        to_status=status,
        step=None,
        snapshot=DossierSnapshot(
            procedure_code="LLTP-01",
            agency_code=AGENCY,
            status=status,
            current_step=None,
            submitted_at=SUBMITTED,
            state={"seq": seq},
        ),
        documents=[
            DocumentRef(sha256=f"{seq:064d}", size=10, media_type="application/pdf", slot="to_khai")
        ],
    )


def test_record_transition_is_idempotent_and_ordered(pg_url: str) -> None:
    upgrade(pg_url)
    db = Database(pg_url)
    records = RecordActivities(db)
    code = f"{AGENCY}-260302-0001"
    try:
        first = _record(code, 0, "SUBMITTED", SUBMITTED)
        assert records.record_transition(first) is True
        assert records.record_transition(first) is False  # a retried activity
        second = _record(code, 1, "PROCESSING", SUBMITTED.replace(hour=2))
        assert records.record_transition(second) is True
        assert records.record_transition(first) is False  # late and old: changes nothing

        # Many concurrent retries of one new transition: exactly one writes.
        third = _record(code, 2, "COMPLETED", SUBMITTED.replace(hour=3))
        barrier = threading.Barrier(16)

        def attempt() -> bool:
            barrier.wait()
            return records.record_transition(third)

        with ThreadPoolExecutor(16) as pool:
            outcomes = list(pool.map(lambda _: attempt(), range(16)))
        assert outcomes.count(True) == 1, outcomes

        with db.session() as session:
            row = session.get(Dossier, code)
            assert row is not None
            assert (row.status, row.last_seq) == ("COMPLETED", 2)
            assert row.submitted_at == SUBMITTED  # aware datetimes survive the round trip
            assert row.submitted_at.tzinfo is not None
            events = session.exec(select(DossierEvent).where(DossierEvent.dossier_code == code))
            assert [e.seq for e in events] == [0, 1, 2]
            docs = session.exec(
                select(DossierDocument).where(DossierDocument.dossier_code == code)
            ).all()
            assert len(docs) == 3  # one per distinct document, never twice
    finally:
        db.dispose()


def test_allocate_code_under_concurrency(pg_url: str) -> None:
    upgrade(pg_url)
    db = Database(pg_url)
    moment = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    threads, per_thread = 24, 15
    barrier = threading.Barrier(threads)

    def allocate_many(_: int) -> list[str]:
        barrier.wait()
        codes = []
        for _ in range(per_thread):
            with db.session() as session:
                codes.append(allocate_code(session, AGENCY, moment))
                session.commit()
        return codes

    try:
        with ThreadPoolExecutor(threads) as pool:
            codes = [c for batch in pool.map(allocate_many, range(threads)) for c in batch]
        assert len(codes) == len(set(codes)) == threads * per_thread
        numbers = sorted(int(c.rsplit("-", 1)[1]) for c in codes)
        assert numbers == list(range(1, threads * per_thread + 1))
        assert all(c.startswith(f"{AGENCY}-260302-") for c in codes)
        # A rolled-back allocation gives its number back (the counter is transactional).
        with db.session() as session:
            allocate_code(session, AGENCY, moment)
            session.rollback()
        with db.session() as session:
            nxt = allocate_code(session, AGENCY, moment)
            session.commit()
        assert nxt.endswith(f"-{threads * per_thread + 1:04d}")
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("select version()")).scalar_one().startswith("PostgreSQL")
    finally:
        db.dispose()


def _check_on_postgresql(pg_url: str, check: Callable[[Database], None]) -> None:
    """Run a read-model check written for SQLite (tests/db) on a migrated PostgreSQL."""
    upgrade(pg_url)
    db = Database(pg_url)
    try:
        check(db)
    finally:
        db.dispose()


def test_open_work_on_postgresql(pg_url: str) -> None:
    from tests.db.test_open_work import check_open_work

    _check_on_postgresql(pg_url, check_open_work)


def test_reads_run_without_a_transaction_around_them(pg_url: str) -> None:
    """``read_session``: no BEGIN and ROLLBACK round trips around a read on PostgreSQL
    (READ COMMITTED gives each statement its own snapshot either way); ``session`` keeps
    its transaction. A row committed meanwhile is seen by the next read."""
    from psycopg.pq import TransactionStatus

    upgrade(pg_url)
    db = Database(pg_url)
    try:
        with db.session() as writer:
            writer.add(Dossier(code=f"{AGENCY}-RS-1", procedure_code="LLTP-01",
                               agency_code=AGENCY, submitted_at=SUBMITTED))  # fmt: skip
            writer.commit()
        with db.read_session() as reader, db.session() as usual:
            count = sa.select(sa.func.count()).select_from(Dossier).where(
                Dossier.code.like(f"{AGENCY}-RS-%")  # type: ignore[attr-defined]
            )
            assert reader.execute(count).scalar_one() == 1
            assert usual.execute(count).scalar_one() == 1
            read_conn = reader.connection().connection.dbapi_connection
            usual_conn = usual.connection().connection.dbapi_connection
            assert read_conn.info.transaction_status == TransactionStatus.IDLE
            assert usual_conn.info.transaction_status == TransactionStatus.INTRANS
            with db.session() as writer:
                writer.add(Dossier(code=f"{AGENCY}-RS-2", procedure_code="LLTP-01",
                                   agency_code=AGENCY, submitted_at=SUBMITTED))  # fmt: skip
                writer.commit()
            assert reader.execute(count).scalar_one() == 2
        # Back in the pool, the connection is an ordinary one again.
        with db.session() as usual:
            usual.execute(sa.text("SELECT 1"))
            conn = usual.connection().connection.dbapi_connection
            assert conn.info.transaction_status == TransactionStatus.INTRANS
    finally:
        db.dispose()


def test_lookup_on_postgresql(pg_url: str) -> None:
    from tests.db.test_lookup import check_lookup

    _check_on_postgresql(pg_url, check_lookup)


def test_migration_0006_fills_acting_roles_on_postgresql(pg_url: str) -> None:
    from tests.db.test_acting_roles import check_migration_0006

    check_migration_0006(pg_url)
