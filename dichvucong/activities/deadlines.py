"""Due moments from the working-day calendar. An activity because the holiday
table may change while a case is open (a recorded result keeps replay stable)
and the `holidays` package cannot run in the workflow sandbox."""

from __future__ import annotations

import math
from datetime import datetime, time

from temporalio import activity

from dichvucong.activities.contracts import Deadline, DeadlineRequest
from dichvucong.calendar import WorkCalendar
from dichvucong.calendar.work_calendar import VN_TZ


class DeadlineActivities:
    def __init__(self, calendar: WorkCalendar) -> None:
        self._calendar = calendar

    @activity.defn(name="plan_deadline")
    def plan_deadline(self, request: DeadlineRequest) -> Deadline:
        cal = self._calendar
        # Appointments are stated to the minute (the slip prints HH:MM).
        start = request.start.replace(second=0, microsecond=0)
        if request.cutoff is not None and _after(start, request.cutoff):
            start = cal.next_working_day_start(start)
        starts_at = cal.next_working_moment(start)
        if request.same_day:
            due_at = cal.closing_time(starts_at)
        elif request.working_hours is not None:
            due_at = cal.add_working_hours(starts_at, request.working_hours)
        else:
            days = request.working_days or 0
            whole = math.floor(days)
            due_at = cal.add_working_days(starts_at, whole)
            if days > whole:  # half a working day and the like count in office hours
                due_at = cal.add_working_hours(due_at, (days - whole) * cal.hours_per_day)
        warn_at = None
        if request.warn_days > 0:
            # A limit no longer than the warning window would be "at risk" from its first
            # minute (a same-day procedure flagged as it is received): no warning comes
            # before half of the working time has passed.
            if request.same_day:
                limit_hours = cal.working_days_elapsed(starts_at, due_at) * cal.hours_per_day
            elif request.working_hours is not None:
                limit_hours = request.working_hours
            else:
                limit_hours = (request.working_days or 0) * cal.hours_per_day
            halfway = cal.add_working_hours(starts_at, limit_hours / 2)
            warn_at = max(halfway, cal.subtract_working_days(due_at, request.warn_days))
            warn_at = min(warn_at, due_at)
        also_at = None
        if request.also_days:
            also_at = cal.closing_time(cal.add_working_days(starts_at, request.also_days))
        return Deadline(starts_at=starts_at, due_at=due_at, warn_at=warn_at, also_at=also_at)


def _after(moment: datetime, cutoff: str) -> bool:
    return moment.astimezone(VN_TZ).time() > time.fromisoformat(cutoff)
