"""Periodic jobs: the schedules exist once however often the worker starts (Temporal
CLI dev server: the time-skipping test server has no schedules), and the
scheduled workflows do their work — or nothing on a day off (time-skipping)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import select
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dichvucong.activities.contracts import NationalSyncRequest
from dichvucong.db.models import Dossier, NationalSync, Notification
from dichvucong.integrations.national import NationalPortalClient, record_attempt
from dichvucong.scheduling import (
    SCHEDULE_IDS,
    SCHEDULED_WORKFLOWS,
    AtRiskDigestWorkflow,
    NationalResyncWorkflow,
    QuarterlyReportWorkflow,
    ensure_schedules,
)
from dichvucong.scheduling.activities import ScheduleActivities
from dichvucong.settings import Settings
from dichvucong.simulators.national import NationalPortalSimulator
from dichvucong.simulators.serve import ServerThread
from tests.workflows.harness import Harness, harness, vn

REPO = Path(__file__).resolve().parents[2]
STP = "000.00.12.H19"


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(var_dir=tmp_path, environment="test", task_queue="tq-schedules", **kw)  # type: ignore[arg-type]


async def _schedule_ids(client: Client) -> list[str]:
    return sorted([s.id async for s in await client.list_schedules()])


@pytest.mark.devserver
async def test_schedules_created_once_however_often_the_worker_starts(tmp_path: Path) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(REPO / ".venv" / "bin" / "temporal"),
    )
    try:
        settings = _settings(tmp_path)
        for _ in range(3):
            assert await ensure_schedules(env.client, settings) == list(SCHEDULE_IDS)
        # The visibility store lists new schedules a moment later.
        for _ in range(100):
            if await _schedule_ids(env.client) == sorted(SCHEDULE_IDS):
                break
            await asyncio.sleep(0.1)
        assert await _schedule_ids(env.client) == sorted(SCHEDULE_IDS)

        digest = await env.client.get_schedule_handle("dvc-at-risk-digest").describe()
        spec = digest.schedule.spec
        assert spec.time_zone_name == "Asia/Ho_Chi_Minh"
        assert [(c.hour[0].start, c.minute[0].start) for c in spec.calendars] == [(7, 0)]
        action = digest.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert (action.workflow, action.task_queue) == ("AtRiskDigest", "tq-schedules")

        # A changed setting reaches the existing schedule at the next start.
        await ensure_schedules(env.client, _settings(tmp_path, digest_time="07:30"))
        digest = await env.client.get_schedule_handle("dvc-at-risk-digest").describe()
        assert [(c.hour[0].start, c.minute[0].start) for c in digest.schedule.spec.calendars] == [
            (7, 30)
        ]
        assert await _schedule_ids(env.client) == sorted(SCHEDULE_IDS)
    finally:
        await env.shutdown()


# ------------------------------------------------------------- the scheduled workflows


def _worker(h: Harness, activities: ScheduleActivities) -> Worker:
    return Worker(
        h.client,
        task_queue=h.task_queue,
        workflows=SCHEDULED_WORKFLOWS,
        activities=activities.all(),
        activity_executor=ThreadPoolExecutor(4),
    )


async def _run(h: Harness, workflow: Any, workflow_id: str) -> Any:
    """Run to completion without auto time-skipping: the clock stays where the test
    put it (skipping would jump it past the activity timeouts while they run)."""
    with h.env.auto_time_skipping_disabled():
        return await h.client.execute_workflow(
            workflow,
            id=workflow_id,  # type: ignore[call-overload]
            task_queue=h.task_queue,
        )


def _dossier(h: Harness, code: str, due: datetime, status: str = "PROCESSING") -> None:
    with h.db.session() as session:
        session.add(
            Dossier(
                code=code,
                procedure_code="ly-lich-tu-phap",
                agency_code=STP,
                status=status,
                due_at=due,
                received_at=due - timedelta(days=10),
            )
        )
        session.commit()


async def test_digest_skipped_on_a_holiday_sent_on_the_next_working_day(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        settings = _settings(tmp_path)
        _dossier(h, "D-SOON", vn(2027, 1, 4, 16, 0))  # due Monday afternoon
        _dossier(h, "D-LATER", vn(2027, 1, 20, 9, 0))  # not at risk
        _dossier(h, "D-DONE", vn(2027, 1, 4, 10, 0), status="COMPLETED")
        async with _worker(h, ScheduleActivities(settings, h.db, h.calendar)):
            await h.travel_to(vn(2027, 1, 1, 7, 0))  # Tết Dương lịch, as the schedule fires
            result = await _run(h, AtRiskDigestWorkflow.run, "digest-holiday")
            assert (result.skipped, result.reason, result.notices) == (True, "Tết Dương lịch", 0)
            with h.db.session() as session:
                assert session.exec(select(Notification)).all() == []
            await h.travel_to(vn(2027, 1, 4, 7, 0))  # Monday
            result = await _run(h, AtRiskDigestWorkflow.run, "digest-monday")
            assert (result.skipped, result.agencies, result.notices) == (False, {STP: 1}, 2)
            again = await _run(h, AtRiskDigestWorkflow.run, "digest-monday-2")  # nothing new
            assert again.notices == 0
        with h.db.session() as session:
            notices = session.exec(select(Notification)).all()
        assert sorted(n.recipient for n in notices) == [
            f"agency:{STP}:leader",
            f"agency:{STP}:supervisor",
        ]
        assert "D-SOON" in notices[0].body and "D-LATER" not in notices[0].body


async def test_quarterly_report_on_the_first_working_day_after_the_quarter(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        settings = _settings(tmp_path)
        async with _worker(h, ScheduleActivities(settings, h.db, h.calendar)):
            await h.travel_to(vn(2027, 1, 1, 6, 0))  # a holiday: not yet
            result = await _run(h, QuarterlyReportWorkflow.run, "q-holiday")
            assert result.skipped
            await h.travel_to(vn(2027, 1, 4, 6, 0))  # Monday, the first working day
            result = await _run(h, QuarterlyReportWorkflow.run, "q-monday")
            assert not result.skipped and result.path is not None
            assert Path(result.path).name == "bao-cao-2026-q4.xlsx" and Path(result.path).exists()
            await h.travel_to(vn(2027, 1, 5, 6, 0))  # the day after: done already
            result = await _run(h, QuarterlyReportWorkflow.run, "q-tuesday")
            assert result.skipped


async def test_nightly_resync_sends_what_was_not_acknowledged(tmp_path: Path) -> None:
    sim = NationalPortalSimulator("dvc-dongnai", "s")
    app = FastAPI()
    app.include_router(sim.router, prefix="/_sim/national")
    async with harness(tmp_path) as h:
        long_ago = datetime.now(UTC) - timedelta(hours=5)
        at = vn(2027, 1, 11, 9, 0)
        for seq, kind in ((1, "dossier"), (2, "status")):
            record_attempt(
                h.db,
                NationalSyncRequest(
                    dossier_code="D-R",
                    seq=seq,
                    kind=kind,
                    procedure_code="ly-lich-tu-phap",
                    agency_code=STP,
                    channel="online",
                    status="PROCESSING",
                    step="tham_dinh",
                    at=at,
                    received_at=at,
                ),
                "failed",
                "national portal unreachable",
                now=long_ago,
            )
        with ServerThread(app) as server:
            client = NationalPortalClient(
                f"{server.url}/_sim/national", "dvc-dongnai", "s", db=h.db
            )
            activities = ScheduleActivities(
                _settings(tmp_path), h.db, h.calendar, national_client=client
            )
            async with _worker(h, activities):
                result = await _run(h, NationalResyncWorkflow.run, "resync")
        assert (result.attempted, result.synced) == (2, 2)
        assert [r.kind for r in sim.dossier_records("D-R")] == ["dossier", "status"]
        with h.db.session() as session:
            rows = session.exec(select(NationalSync).order_by(NationalSync.seq)).all()
        assert [(r.status, r.attempts) for r in rows] == [("synced", 2), ("synced", 2)]
