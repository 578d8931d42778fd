"""Reporting periods in Vietnam time: half-open intervals [start, end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dichvucong.calendar.work_calendar import SUPPORTED_YEARS, VN_TZ, YEARS_MESSAGE


class PeriodError(ValueError):
    """A period that cannot be reported on; the message is for people (Vietnamese)."""


@dataclass(frozen=True)
class Period:
    start: datetime  # aware, inclusive
    end: datetime  # aware, exclusive
    label: str

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), VN_TZ)


def quarter_period(year: int, quarter: int) -> Period:
    if quarter not in (1, 2, 3, 4):
        raise ValueError(f"quarter must be 1–4, got {quarter}")
    first_month = 3 * (quarter - 1) + 1
    start = date(year, first_month, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, first_month + 3, 1)
    return Period(_midnight(start), _midnight(end), f"Quý {_roman(quarter)} năm {year}")


def year_period(year: int) -> Period:
    return Period(_midnight(date(year, 1, 1)), _midnight(date(year + 1, 1, 1)), f"Năm {year}")


def report_period(year: int, quarter: int | None) -> Period:
    return year_period(year) if quarter is None else quarter_period(year, quarter)


def date_range(first: date, last: date) -> Period:
    """From the start of ``first`` to the end of ``last`` (both days included)."""
    if first.year not in SUPPORTED_YEARS or last.year not in SUPPORTED_YEARS:
        raise PeriodError(YEARS_MESSAGE)
    if last < first:
        raise PeriodError("Khoảng thời gian không hợp lệ: ngày kết thúc phải sau ngày bắt đầu.")
    label = f"Từ {first:%d/%m/%Y} đến {last:%d/%m/%Y}"
    return Period(_midnight(first), _midnight(last + timedelta(days=1)), label)


def current_quarter(now: datetime | None = None) -> Period:
    local = (now or datetime.now(UTC)).astimezone(VN_TZ)
    return quarter_period(local.year, (local.month - 1) // 3 + 1)


def requested_period(first: date | None, last: date | None, now: datetime | None = None) -> Period:
    """The period a supervisor asked for: this quarter when neither day is given; with
    one day only, the period stays in that day's year: from 1 January of ``last``'s
    year, or up to 31 December of ``first``'s year (today, if today falls between).
    PeriodError when ``last`` is before ``first`` or a day is outside SUPPORTED_YEARS."""
    if first is None and last is None:
        return current_quarter(now)
    today = (now or datetime.now(UTC)).astimezone(VN_TZ).date()
    if first is None:
        assert last is not None
        first = date(last.year, 1, 1)
    elif last is None:
        last = _default_last(first, today)
    return date_range(first, last)


def _default_last(first: date, today: date) -> date:
    """Up to today within ``first``'s year; a period in another year runs to its end."""
    year_end = date(first.year, 12, 31)
    return today if first <= today < year_end else year_end


def year_to_date(now: datetime | None = None) -> Period:
    local = (now or datetime.now(UTC)).astimezone(VN_TZ)
    return year_period(local.year)


def _roman(n: int) -> str:
    return ("I", "II", "III", "IV")[n - 1]
