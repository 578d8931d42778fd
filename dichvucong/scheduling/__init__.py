"""Periodic jobs as Temporal Schedules: nightly national re-sync, the morning
at-risk digest (skipped on days off), the upload sweep and the quarterly report.

Worker wiring: ``SCHEDULED_WORKFLOWS``, ``build_schedule_activities(settings, db)``
and ``await ensure_schedules(client, settings)`` at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dichvucong.scheduling.schedules import SCHEDULE_IDS, ensure_schedules, job_specs
from dichvucong.scheduling.workflows import (
    SCHEDULED_WORKFLOWS,
    AtRiskDigestWorkflow,
    DocumentSweepWorkflow,
    NationalResyncWorkflow,
    QuarterlyReportWorkflow,
)

if TYPE_CHECKING:
    from dichvucong.db.engine import Database
    from dichvucong.settings import Settings



def build_schedule_activities(settings: Settings, db: Database) -> list[Callable[..., Any]]:
    from dichvucong.calendar import WorkCalendar
    from dichvucong.integrations.national import build_national_client
    from dichvucong.scheduling.activities import ScheduleActivities

    return ScheduleActivities(
        settings,
        db,
        WorkCalendar.from_settings(settings),
        national_client=build_national_client(settings, db),
    ).all()


__all__ = [
    "SCHEDULED_WORKFLOWS",
    "SCHEDULE_IDS",
    "AtRiskDigestWorkflow",
    "DocumentSweepWorkflow",
    "NationalResyncWorkflow",
    "QuarterlyReportWorkflow",
    "build_schedule_activities",
    "ensure_schedules",
    "job_specs",
]
