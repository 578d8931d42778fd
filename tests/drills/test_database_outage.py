"""Drill: the read model's PostgreSQL is down for a while → record_transition
activities fail and retry (DB_RETRY), the cases continue once it is back, and
nothing is written twice."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio import activity

from dichvucong.activities.contracts import TransitionRecord
from dichvucong.activities.notify import NotifyActivities
from dichvucong.activities.records import RecordActivities
from dichvucong.db.engine import Database
from dichvucong.db.migrate import upgrade
from dichvucong.db.models import Dossier, DossierEvent
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import AcceptInput
from tests.drills.support import DevServer, until
from tests.pg.cluster import PostgresCluster
from tests.pg.conftest import require_postgres
from tests.workflows.harness import OutsideWorld, dossier_input, worker_settings
from tests.workflows.test_dossier_lifecycle import RECEPTION

pytestmark = pytest.mark.devserver

CASES = 20
OUTAGE_SECONDS = 12


async def test_read_model_database_down_for_a_while(tmp_path: Path) -> None:
    from dichvucong.activities.deadlines import DeadlineActivities
    from dichvucong.calendar import WorkCalendar
    from dichvucong.worker import build_worker

    require_postgres()
    cluster = PostgresCluster()  # its own folder under /tmp: the postgres user must reach it
    cluster.init()
    cluster.start()
    server = DevServer(tmp_path / "temporal.db", tmp_path / "temporal.log")
    db: Database | None = None
    try:
        url = cluster.create_database("readmodel")
        upgrade(url)
        db = Database(url)
        records = RecordActivities(db)
        attempts = {"calls": 0, "failures": 0}
        lock = threading.Lock()

        @activity.defn(name="record_transition")
        def counted_record_transition(record: TransitionRecord) -> bool:
            with lock:
                attempts["calls"] += 1
            try:
                return records.record_transition(record)
            except Exception:
                with lock:
                    attempts["failures"] += 1
                raise

        client = await server.start()
        queue = f"drill-{uuid.uuid4().hex[:8]}"
        activities = [
            DeadlineActivities(WorkCalendar()).plan_deadline,
            counted_record_transition,
            NotifyActivities(db, channels=[]).notify,
            *OutsideWorld().activities(),
        ]
        async with build_worker(client, worker_settings(), activities, task_queue=queue):
            codes = [f"000.00.12.H19-270111-{i + 1:04d}" for i in range(CASES)]
            handles = [
                await client.start_workflow(
                    DossierWorkflow.run,
                    dossier_input(code, datetime.now(UTC)),
                    id=code,
                    task_queue=queue,
                )
                for code in codes
            ]

            async def all_recorded() -> bool:
                with db.session() as session:  # type: ignore[union-attr]
                    return len(session.exec(select(Dossier.code)).all()) == CASES

            await until(all_recorded, "the submissions", 30)

            cluster.stop("fast")  # the database goes away
            down = time.monotonic()
            accepts = [
                asyncio.create_task(
                    h.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
                )
                for h in handles
            ]
            await asyncio.sleep(OUTAGE_SECONDS)
            assert not any(t.done() for t in accepts), "an accept finished without the database"
            cluster.start()  # back, same port and files
            states = await asyncio.wait_for(asyncio.gather(*accepts), 60)
            recovered = time.monotonic() - down
        assert {s.status for s in states} == {"PROCESSING"}
        assert attempts["failures"] >= CASES, attempts  # every case retried at least once
        with db.session() as session:
            for code, state in zip(codes, states, strict=True):
                row = session.get(Dossier, code)
                assert row is not None and (row.status, row.last_seq) == ("PROCESSING", state.seq)
                seqs = [e.seq for e in session.exec(
                    select(DossierEvent).where(DossierEvent.dossier_code == code))]  # fmt: skip
                assert seqs == list(range(state.seq + 1))  # nothing written twice
        assert recovered < OUTAGE_SECONDS + 45
    finally:
        if db is not None:
            db.dispose()
        server.stop()
        cluster.destroy()
