"""Working-day calendar: due moments and the list of working days (for forms and UI)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from dichvucong.api.deps import CalendarDep
from dichvucong.api.problems import DomainError
from dichvucong.api.routing import OneTripRoute
from dichvucong.calendar.work_calendar import SUPPORTED_YEARS, YEARS_MESSAGE

router = APIRouter(tags=["calendar"], route_class=OneTripRoute)

MAX_DAYS_LISTED = 400
# Far beyond any statutory limit, and far from datetime's own limits.
MAX_WORKING_DAYS = 10_000
MAX_WORKING_HOURS = 80_000

# "+07:00" typed unencoded in a URL arrives as " 07:00": put the sign back.
_LOST_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


class DueOut(BaseModel):
    due: str


class DayOut(BaseModel):
    date: dt.date
    working: bool
    note: str | None


def _parse_start(value: str) -> dt.datetime:
    text = _LOST_PLUS.sub(r"\1+\2", value.strip())
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise DomainError(
            "invalid_datetime",
            f"Thời điểm '{value}' không đúng định dạng ISO 8601 (ví dụ 2025-01-24T10:00+07:00).",
            status=422,
        ) from exc
    if moment.tzinfo is None:
        raise DomainError(
            "naive_datetime",
            "Thời điểm phải có múi giờ, ví dụ 2025-01-24T10:00+07:00.",
            status=422,
        )
    _check_year(moment.date())
    return moment


def _check_year(day: dt.date) -> None:
    if day.year not in SUPPORTED_YEARS:
        raise DomainError("year_out_of_range", YEARS_MESSAGE, status=422)


@router.get("/calendar/due", response_model=DueOut)
def due_moment(
    calendar: CalendarDep,
    start: Annotated[str, Query(description="Reception moment, ISO 8601 with offset.")],
    days: Annotated[
        int | None, Query(ge=0, le=MAX_WORKING_DAYS, description="Working days to add.")
    ] = None,
    hours: Annotated[
        float | None,
        Query(ge=0, le=MAX_WORKING_HOURS, allow_inf_nan=False, description="Working hours to add."),
    ] = None,
) -> DueOut:
    """Due moment: ``start`` plus ``days`` working days or ``hours`` working hours."""
    if (days is None) == (hours is None):
        raise DomainError(
            "days_or_hours", "Cần đúng một trong hai tham số: days hoặc hours.", status=422
        )
    moment = _parse_start(start)
    if days is not None:
        due = calendar.add_working_days(moment, days)
    else:
        due = calendar.add_working_hours(moment, float(hours or 0))
    # A due moment past the last supported year would be counted without its holidays.
    _check_year(due.date())
    return DueOut(due=due.isoformat())


@router.get("/calendar/days", response_model=list[DayOut])
def list_days(
    calendar: CalendarDep,
    from_: Annotated[dt.date, Query(alias="from", description="First day, inclusive.")],
    to: Annotated[dt.date, Query(description="Last day, inclusive.")],
) -> list[DayOut]:
    """Each day from ``from`` to ``to`` with whether the agency works and why not."""
    _check_year(from_)
    _check_year(to)
    if to < from_:
        raise DomainError("invalid_range", "Ngày kết thúc phải sau ngày bắt đầu.", status=422)
    count = (to - from_).days + 1
    if count > MAX_DAYS_LISTED:
        raise DomainError(
            "range_too_long",
            f"Chỉ liệt kê tối đa {MAX_DAYS_LISTED} ngày mỗi lần.",
            status=422,
        )
    days = (from_ + dt.timedelta(days=i) for i in range(count))
    return [
        DayOut(date=day, working=calendar.is_working_day(day), note=calendar.describe(day))
        for day in days
    ]
