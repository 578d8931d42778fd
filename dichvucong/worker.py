"""Builds the Temporal worker: the dossier workflow and every activity it calls."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from dichvucong.activities.deadlines import DeadlineActivities
from dichvucong.activities.late_payments import LatePaymentActivities
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
from dichvucong.workflows.late_refund import LateRefundWorkflow

WORKFLOWS: list[type] = [
    DossierWorkflow, LateRefundWorkflow, *FEEDBACK_WORKFLOWS, *SCHEDULED_WORKFLOWS
]
log = logging.getLogger("dichvucong.worker")


def build_activities(settings: Settings, db: Database) -> list[Callable[..., Any]]:
    from dichvucong.integrations.factory import build_channels, build_outside_activities

    deadlines = DeadlineActivities(WorkCalendar.from_settings(settings))
    records = RecordActivities(db)
    notify = NotifyActivities(db, channels=build_channels(settings, db))
    return [
        deadlines.plan_deadline,
        records.record_transition,
        LatePaymentActivities(db).record_late_payment,
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
    graceful_shutdown: timedelta = timedelta(0),
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
        graceful_shutdown_timeout=graceful_shutdown,
        # Workflow modules are deterministic at import time: sharing them instead of
        # re-importing per run keeps each cached case small (memory per open case).
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
        ),
    )


def worker_runtime(settings: Settings) -> Runtime | None:
    """A runtime that serves the SDK's Prometheus metrics at /metrics when
    ``worker_metrics_address`` is set: what tuning the worker reads (slots in use,
    schedule-to-start latencies, sticky-cache hits), and a liveness probe."""
    if not settings.worker_metrics_address:
        return None
    metrics = PrometheusConfig(
        bind_address=settings.worker_metrics_address,
        durations_as_seconds=True,  # Prometheus' convention, and Grafana's default units
    )
    return Runtime(telemetry=TelemetryConfig(metrics=metrics))


class TemporalUnreachable(Exception):
    """No Temporal server answered at the configured address."""

    def __init__(self, address: str) -> None:
        super().__init__(address)
        self.address = address


async def run_worker(settings: Settings) -> None:
    """Runs until SIGTERM (what docker-compose and Kubernetes send) or SIGINT, then
    shuts down gracefully: no new tasks, running activities get
    ``worker_graceful_shutdown_seconds`` to finish and report, so that a rolling deploy
    neither cuts an outside call in the middle nor leaves it to its timeout and a retry."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    runtime = worker_runtime(settings)
    try:
        client = await connect(settings, runtime=runtime)
    except RuntimeError as exc:  # the SDK's "Failed client connect": no server there
        raise TemporalUnreachable(settings.temporal_address) from exc
    if runtime is not None:
        log.info("worker_metrics address=http://%s/metrics", settings.worker_metrics_address)
    db = Database(settings.resolved_database_url)
    grace = timedelta(seconds=settings.worker_graceful_shutdown_seconds)
    worker = build_worker(client, settings, build_activities(settings, db), graceful_shutdown=grace)
    if settings.schedules_enabled:
        await ensure_schedules(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    freeze_startup_heap()
    log.info(
        "worker_started task_queue=%s address=%s", settings.task_queue, settings.temporal_address
    )
    running = asyncio.create_task(worker.run())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set() and not running.done():
            log.info("worker_stopping grace_seconds=%g", grace.total_seconds())
            await worker.shutdown()
        await running  # a worker that failed by itself fails the process
        log.info("worker_stopped")
    finally:
        stopping.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        db.dispose()
