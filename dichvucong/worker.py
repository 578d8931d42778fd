"""Builds the Temporal worker: the dossier workflow and every activity it calls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from dichvucong.activities.deadlines import DeadlineActivities
from dichvucong.activities.national import NationalSyncActivities
from dichvucong.activities.notify import NotifyActivities
from dichvucong.activities.reconcile import ReconcileActivities
from dichvucong.activities.records import RecordActivities
from dichvucong.calendar import WorkCalendar
from dichvucong.db.engine import Database
from dichvucong.feedback import FEEDBACK_WORKFLOWS, build_feedback_activities
from dichvucong.heap import freeze_startup_heap
from dichvucong.scheduling import (
    SCHEDULED_WORKFLOWS,
    build_schedule_activities,
    ensure_schedules,
)
from dichvucong.settings import Settings
from dichvucong.temporal_client import connect
from dichvucong.workflows.dossier import DossierWorkflow

WORKFLOWS: list[type] = [DossierWorkflow, *FEEDBACK_WORKFLOWS, *SCHEDULED_WORKFLOWS]
log = logging.getLogger("dichvucong.worker")


def build_activities(settings: Settings, db: Database) -> list[Callable[..., Any]]:
    from dichvucong.integrations.factory import build_channels, build_outside_activities

    deadlines = DeadlineActivities(WorkCalendar.from_settings(settings))
    records = RecordActivities(db)
    notify = NotifyActivities(db, channels=build_channels(settings, db))
    return [
        deadlines.plan_deadline,
        records.record_transition,
        notify.notify,
        *build_outside_activities(settings, db),
        *build_feedback_activities(settings, db),
        NationalSyncActivities(build_national_client(settings, db)).sync_national,
        *build_schedule_activities(settings, db),
        ReconcileActivities(settings, db).reconcile_unstarted_dossiers,
    ]


def build_national_client(settings: Settings, db: Database) -> object | None:
    """The national portal adapter, or None while the sync is not configured."""
    try:
        from dichvucong.integrations.national import build_national_client as build
    except ImportError:
        return None
    return build(settings, db)


def build_worker(
    client: Client,
    settings: Settings,
    activities: Sequence[Callable[..., Any]],
    *,
    task_queue: str | None = None,
    max_concurrent_activities: int | None = None,
    max_cached_workflows: int | None = None,
) -> Worker:
    activities_at_once = max_concurrent_activities or settings.worker_max_concurrent_activities
    cached = (
        max_cached_workflows
        if max_cached_workflows is not None
        else settings.worker_max_cached_workflows
    )
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        activities=list(activities),
        # Activities are synchronous (SQLAlchemy, HTTP clients): a thread pool runs them.
        activity_executor=ThreadPoolExecutor(max_workers=activities_at_once),
        max_concurrent_activities=activities_at_once,
        max_cached_workflows=cached,
        # Workflow modules are deterministic at import time: sharing them instead of
        # re-importing per run keeps each cached case small (memory per open case).
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
        ),
    )


async def run_worker(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    client = await connect(settings)
    db = Database(settings.resolved_database_url)
    worker = build_worker(client, settings, build_activities(settings, db))
    if settings.schedules_enabled:
        await ensure_schedules(client, settings)
    freeze_startup_heap()
    log.info(
        "worker_started task_queue=%s address=%s", settings.task_queue, settings.temporal_address
    )
    try:
        await worker.run()
    except asyncio.CancelledError:
        pass
    finally:
        db.dispose()
