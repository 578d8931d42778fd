"""The Temporal Schedules of the periodic jobs, created idempotently at worker start.

=====================  ======================================  =======================
schedule id            when (Asia/Ho_Chi_Minh)                 workflow
=====================  ======================================  =======================
dvc-national-resync    every day 01:30                         NationalResync
dvc-at-risk-digest     every day at ``digest_time`` (07:00)    AtRiskDigest (skips days off)
dvc-document-sweep     every day 02:30                         DocumentSweep
dvc-quarterly-report   06:00 on days 1–15 of Jan/Apr/Jul/Oct   QuarterlyReport (acts on the
                                                               first working day only)
=====================  ======================================  =======================

``ensure_schedules`` creates what is missing and brings existing ones to the
spec above (a changed ``digest_time`` applies at the next start); running it
again and again leaves exactly one schedule per id. They show in the Temporal
UI under "Schedules".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from dichvucong.scheduling.workflows import (
    AtRiskDigestWorkflow,
    DocumentSweepWorkflow,
    NationalResyncWorkflow,
    QuarterlyReportWorkflow,
)
from dichvucong.settings import Settings

log = logging.getLogger("dichvucong.scheduling")

TIME_ZONE = "Asia/Ho_Chi_Minh"
SCHEDULE_IDS = (
    "dvc-national-resync",
    "dvc-at-risk-digest",
    "dvc-document-sweep",
    "dvc-quarterly-report",
)


@dataclass(frozen=True)
class JobSpec:
    schedule_id: str
    workflow: str
    calendar: ScheduleCalendarSpec
    note: str


def _daily(hour: int, minute: int) -> ScheduleCalendarSpec:
    return ScheduleCalendarSpec(
        hour=[ScheduleRange(hour)], minute=[ScheduleRange(minute)], second=[ScheduleRange(0)]
    )


def _hhmm(text: str) -> tuple[int, int]:
    hour, _, minute = str(text).partition(":")
    h, m = int(hour), int(minute or 0)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"digest_time {text!r} is not HH:MM")
    return h, m


def job_specs(settings: Settings) -> list[JobSpec]:
    digest_h, digest_m = _hhmm(settings.digest_time)
    quarterly = ScheduleCalendarSpec(
        month=[ScheduleRange(1), ScheduleRange(4), ScheduleRange(7), ScheduleRange(10)],
        day_of_month=[ScheduleRange(1, 15)],
        hour=[ScheduleRange(6)],
        minute=[ScheduleRange(0)],
        second=[ScheduleRange(0)],
    )
    return [
        JobSpec(
            "dvc-national-resync",
            NationalResyncWorkflow.__name__,
            _daily(1, 30),
            "Đồng bộ lại hồ sơ Cổng DVC quốc gia chưa xác nhận",
        ),
        JobSpec(
            "dvc-at-risk-digest",
            AtRiskDigestWorkflow.__name__,
            _daily(digest_h, digest_m),
            "Danh sách hồ sơ sắp đến hạn gửi các cơ quan",
        ),
        JobSpec(
            "dvc-document-sweep",
            DocumentSweepWorkflow.__name__,
            _daily(2, 30),
            "Dọn tệp tải lên không được dùng",
        ),
        JobSpec(
            "dvc-quarterly-report",
            QuarterlyReportWorkflow.__name__,
            quarterly,
            "Báo cáo quý vào ngày làm việc đầu tiên sau quý",
        ),
    ]


_WORKFLOW_NAMES = {
    AtRiskDigestWorkflow.__name__: "AtRiskDigest",
    NationalResyncWorkflow.__name__: "NationalResync",
    DocumentSweepWorkflow.__name__: "DocumentSweep",
    QuarterlyReportWorkflow.__name__: "QuarterlyReport",
}


def build_schedule(job: JobSpec, settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            _WORKFLOW_NAMES[job.workflow],
            id=job.schedule_id,
            task_queue=settings.task_queue,
            execution_timeout=timedelta(hours=2),
        ),
        spec=ScheduleSpec(calendars=[job.calendar], time_zone_name=TIME_ZONE),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=2)
        ),
        state=ScheduleState(note=job.note),
    )


async def ensure_schedules(client: Client, settings: Settings) -> list[str]:
    """Create the schedules, or update them to the current spec; returns their ids."""
    ids: list[str] = []
    for job in job_specs(settings):
        schedule = build_schedule(job, settings)
        try:
            await client.create_schedule(job.schedule_id, schedule)
            log.info("schedule_created id=%s", job.schedule_id)
        except ScheduleAlreadyRunningError:

            def _update(_: ScheduleUpdateInput, wanted: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=wanted)

            await client.get_schedule_handle(job.schedule_id).update(_update)
            log.info("schedule_updated id=%s", job.schedule_id)
        ids.append(job.schedule_id)
    return ids
