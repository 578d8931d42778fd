"""Drill: the Temporal dev server stops and starts again on the same SQLite file
while cases wait on timers → no case is lost and the timers still fire.

Real time passes here, so the calendar is replaced (by activity name) with a
test-only ``plan_deadline`` that puts every deadline 4 s after the request: the
reception-late timer of each case comes due while the server is down.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio import activity

from dichvucong.activities.contracts import Deadline, DeadlineRequest
from dichvucong.activities.notify import NotifyActivities
from dichvucong.activities.records import RecordActivities
from dichvucong.db.engine import Database
from dichvucong.db.migrate import upgrade
from dichvucong.db.models import Dossier, DossierEvent
from dichvucong.workflows.dossier import DossierWorkflow
from tests.drills.support import DevServer, until
from tests.workflows.harness import OutsideWorld, dossier_input, worker_settings

pytestmark = pytest.mark.devserver

CASES = 30
TIMER = timedelta(seconds=10)


@activity.defn(name="plan_deadline")
def plan_deadline_in_seconds(request: DeadlineRequest) -> Deadline:
    now = datetime.now(UTC)
    return Deadline(starts_at=now, due_at=now + TIMER, warn_at=None)


async def test_dev_server_restarts_on_the_same_file(tmp_path: Path) -> None:
    from dichvucong.worker import build_worker

    server = DevServer(tmp_path / "temporal.db", tmp_path / "temporal.log")
    client = await server.start()
    url = f"sqlite:///{tmp_path / 'read-model.db'}"
    upgrade(url)
    db = Database(url)
    queue = f"drill-{uuid.uuid4().hex[:8]}"
    activities = [
        plan_deadline_in_seconds,
        RecordActivities(db).record_transition,
        NotifyActivities(db).notify,
        *OutsideWorld().activities(),
    ]
    worker = build_worker(client, worker_settings(), activities, task_queue=queue)
    running = asyncio.create_task(worker.run())
    try:
        codes = [f"000.00.12.H19-270111-{i + 1:04d}" for i in range(CASES)]
        for code in codes:
            await client.start_workflow(
                DossierWorkflow.run,
                dossier_input(code, datetime.now(UTC)),
                id=code,
                task_queue=queue,
            )

        async def all_recorded() -> bool:
            with db.session() as session:
                return len(session.exec(select(Dossier.code)).all()) == CASES

        await until(all_recorded, "the submissions in the read model", 30)
        with db.session() as session:
            late = session.exec(select(DossierEvent).where(DossierEvent.action == "reception_late"))
            fired_early = len(late.all())
        assert fired_early < CASES, "every timer fired before the server stopped"

        server.stop(signal.SIGTERM)
        down_at = datetime.now(UTC)
        await asyncio.sleep(TIMER.total_seconds() + 2)  # every timer comes due while down
        await server.start()  # same file, same port; the client and worker reconnect

        async def all_fired() -> bool:
            with db.session() as session:
                fired = session.exec(
                    select(DossierEvent.dossier_code).where(DossierEvent.action == "reception_late")
                ).all()
            return sorted(fired) == codes

        await until(all_fired, "every reception-late timer", 60)
        for code in codes:
            description = await client.get_workflow_handle(code).describe()
            assert description.status is not None and description.status.name == "RUNNING"
            state = await client.get_workflow_handle(code).query(DossierWorkflow.state)
            assert state.status == "SUBMITTED" and state.seq == 1
        with db.session() as session:
            events = session.exec(
                select(DossierEvent).where(DossierEvent.action == "reception_late")
            ).all()
        assert len(events) == CASES  # each fired once
        assert sum(e.at >= down_at for e in events) >= CASES - fired_early
    finally:
        worker_shutdown = asyncio.create_task(worker.shutdown())
        await asyncio.wait_for(asyncio.gather(worker_shutdown, running, return_exceptions=True), 30)
        server.stop()
        db.dispose()
