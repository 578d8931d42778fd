"""Drill: the worker is stopped the way docker-compose or Kubernetes stop it (SIGTERM, a
rolling deploy) while one of its activities is in the middle of an outside call.

It stops taking tasks, lets the call finish and reports it, then exits 0: the call is
made once and completed on its first attempt, not cut off and left to its timeout and
a retry by the next worker. A real dev server, a real ``dichvucong worker`` process, the
national portal simulator over HTTP holding its answer for a few seconds.
"""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from dichvucong.seed import seed
from dichvucong.simulators.national import NationalPortalSimulator
from dichvucong.simulators.serve import ServerThread
from dichvucong.temporal_client import connect
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import AcceptInput, CaseRules
from tests.drills.support import DevServer, WorkerProcess, drill_settings, until, worker_env
from tests.workflows.harness import dossier_input
from tests.workflows.test_dossier_lifecycle import RECEPTION

pytestmark = pytest.mark.devserver

CLIENT_ID, SECRET = "dvc-dongnai", "drill-national-secret"
LLTP = "ly-lich-tu-phap"  # a procedure the national catalogue knows (2.000488)
HELD_SECONDS = 4.0  # how long the national portal sits on its answer


async def _sync_attempts(handle: WorkflowHandle[object, object]) -> list[int]:
    """The attempt of each completed ``sync_national`` activity in the history."""
    scheduled: set[int] = set()
    attempts: dict[int, int] = {}
    completed: list[int] = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            if event.activity_task_scheduled_event_attributes.activity_type.name == "sync_national":
                scheduled.add(event.event_id)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            if started.scheduled_event_id in scheduled:
                attempts[started.scheduled_event_id] = started.attempt
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = event.activity_task_completed_event_attributes
            if done.scheduled_event_id in scheduled:
                completed.append(attempts[done.scheduled_event_id])
    return completed


async def test_sigterm_lets_the_running_activity_finish(tmp_path: Path) -> None:
    server = DevServer(tmp_path / "temporal.db", tmp_path / "temporal.log")
    await server.start()
    national = NationalPortalSimulator(CLIENT_ID, SECRET, delay_seconds=HELD_SECONDS)
    portal_app = FastAPI()
    portal_app.include_router(national.router, prefix="/_sim/national")
    portal = ServerThread(portal_app).start()
    settings = drill_settings(tmp_path, server)
    seed(settings)
    worker = WorkerProcess(
        worker_env(
            settings,
            DVC_NATIONAL_PORTAL_URL=f"{portal.url}/_sim/national",
            DVC_NATIONAL_CLIENT_ID=CLIENT_ID,
            DVC_NATIONAL_CLIENT_SECRET=SECRET,
            DVC_WORKER_GRACEFUL_SHUTDOWN_SECONDS="20",
        ),
        tmp_path / "worker.log",
    ).start()
    try:
        client = await connect(settings)
        worker.wait_started()
        code = f"000.00.12.H19-{datetime.now(UTC):%y%m%d}-0001"
        handle = await client.start_workflow(
            DossierWorkflow.run,
            dossier_input(code, datetime.now(UTC), procedure_code=LLTP,
                          rules=CaseRules(national_sync=True)),  # fmt: skip
            id=code,
            task_queue=settings.task_queue,
        )
        # Reception reports the dossier to the national portal, which holds its answer.
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await until(lambda: _true(bool(national.calls)), "the sync call to arrive", 30, 0.02)
        assert national.calls and not await _sync_attempts(handle)  # mid-call

        assert worker.proc is not None
        worker.proc.send_signal(signal.SIGTERM)  # to the process, as docker stop does
        began = time.monotonic()
        try:
            exit_code = worker.proc.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker did not stop within 30 s: {worker.tail()}")
        waited = time.monotonic() - began

        assert exit_code == 0, worker.tail()
        assert "worker_stopped" in worker.tail()
        # It stayed for the call in flight (not cut at once, not the full grace period).
        assert 0.5 < waited < 15, waited
        assert await _sync_attempts(handle) == [1]  # completed by the stopped worker, once
        assert sum(national.calls.values()) == 1
        assert len(national.dossier_records(code)) == 1
    finally:
        worker.stop()
        portal.stop()
        server.stop()


async def _true(value: bool) -> bool:
    return value
