"""Working-day calendar of a Vietnamese state agency.

A working day is Monday–Friday (the 40-hour week of state agencies,
Decision 188/1999/QĐ-TTg: Saturday and Sunday off), minus:

* public holidays, Labour Code 2019 (Law 45/2019/QH14) Art. 112: 1 Jan; Tết
  (5 days); Hùng Kings (10/3 lunar); 30/4; 1/5; 2/9 and one adjacent day;
* the day off given when a holiday falls on a weekly day off, Art. 111(3);
* announced days off (swaps, provincial stops of reception);

plus announced make-up Saturdays. Holidays come from the ``holidays``
package (``holidays.VN``), announced changes from ``announced_changes.yaml``
and an optional local file of the same format, then constructor overrides.

Time limits of administrative procedures (Decree 61/2018/NĐ-CP, Decree
107/2021/NĐ-CP) are counted in working days from the reception moment:
the due moment keeps the time of day of reception, moved first into
office hours.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

from dichvucong.calendar.announced import (
    AnnouncedChange,
    expand,
    load_changes_file,
    packaged_changes,
)

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Years a date from outside may name: those the ``holidays`` package knows Vietnam's
# holidays for (1901–2100 in holidays 0.109). Outside them ``holidays.VN`` is silently
# empty, so every weekday, 2/9 included, would count as a working day. This also keeps
# the date arithmetic far from datetime's limits (year 9999 + 1 day would overflow).
SUPPORTED_YEARS = range(
    getattr(holidays.VN, "start_year", 1901), getattr(holidays.VN, "end_year", 2100) + 1
)

# Said to people (API, CLI) when a date is outside SUPPORTED_YEARS.
YEARS_MESSAGE = f"Ngày phải trong các năm {SUPPORTED_YEARS.start}–{SUPPORTED_YEARS.stop - 1}."

DEFAULT_OFFICE_HOURS: tuple[tuple[time, time], ...] = (
    (time(7, 0), time(11, 30)),
    (time(13, 30), time(17, 0)),
)

NAIVE_MESSAGE = "naive datetime: give a timezone, e.g. +07:00"

_US_PER_HOUR = 3_600_000_000
_ONE_DAY = timedelta(days=1)
_MAKE_UP_SATURDAY_NOTE = "Ngày làm việc bù (hoán đổi ngày làm việc)"
_EXTRA_DAY_OFF_NOTE = "Ngày nghỉ theo cấu hình của cơ quan"
_EXTRA_WORKING_DAY_NOTE = "Ngày làm việc theo cấu hình của cơ quan"


class CalendarSettings(Protocol):
    """What ``WorkCalendar.from_settings`` reads (``dichvucong.settings.Settings``)."""

    @property
    def office_intervals(self) -> list[tuple[time, time]]: ...

    @property
    def calendar_overrides_file(self) -> Path | None: ...


@dataclass(frozen=True, slots=True)
class _YearTable:
    """One year, precomputed: sorted ordinals of working days, and reasons."""

    ordinals: list[int]
    working: frozenset[int]
    notes: Mapping[date, str]


@lru_cache(maxsize=256)
def _package_year(year: int) -> tuple[Mapping[date, str], frozenset[date]]:
    """Holidays and make-up Saturdays the ``holidays`` package knows for one year.

    Cached per process: building ``holidays.VN`` costs milliseconds (lunar
    calendar, gettext) and every calendar instance shares the result.
    """
    table = holidays.VN(years=year, language="vi")
    days_off = {day: str(name) for day, name in table.items()}
    # weekend_workdays is not limited to the requested year: filter it.
    workdays = frozenset(d for d in getattr(table, "weekend_workdays", ()) if d.year == year)
    return days_off, workdays


def _us_of_day(moment: datetime | time) -> int:
    """Microseconds since midnight: integer arithmetic avoids float drift."""
    seconds = (moment.hour * 60 + moment.minute) * 60 + moment.second
    return seconds * 1_000_000 + moment.microsecond


def _check_office_hours(office_hours: Iterable[tuple[time, time]]) -> tuple[tuple[int, int], ...]:
    intervals: list[tuple[int, int]] = []
    for start, end in office_hours:
        s, e = _us_of_day(start), _us_of_day(end)
        if s >= e:
            raise ValueError(f"office hours interval {start}–{end} ends before it starts")
        if intervals and s < intervals[-1][1]:
            raise ValueError(f"office hours interval {start}–{end} overlaps or is out of order")
        intervals.append((s, e))
    if not intervals:
        raise ValueError("office hours must have at least one interval")
    return tuple(intervals)


def to_local(moment: datetime) -> datetime:
    """``moment`` in Vietnam time; naive datetimes are refused (their zone is a guess)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(NAIVE_MESSAGE)
    return moment.astimezone(VN_TZ)


def _at(day: date, us: int) -> datetime:
    # Vietnam has no daylight saving time: wall clock + offset is unambiguous.
    return datetime.combine(day, time(0), VN_TZ) + timedelta(microseconds=us)


def _check_count(n: int, what: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{what} must be an integer, got {n!r}")
    if n < 0:
        raise ValueError(f"{what} must not be negative, got {n}")


class WorkCalendar:
    """Working days and office hours of an agency in Vietnam (Asia/Ho_Chi_Minh).

    Layers, later wins: weekdays (Mon–Fri) → ``holidays.VN`` (Labour Code
    2019 Art. 111–112, its known swaps) → ``announced_changes.yaml`` →
    ``overrides`` (the operator's local file) → ``extra_days_off`` /
    ``extra_working_days``.
    """

    def __init__(
        self,
        *,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        office_hours: Sequence[tuple[time, time]] | None = None,
        overrides: Iterable[AnnouncedChange] = (),
    ) -> None:
        self._intervals = _check_office_hours(office_hours or DEFAULT_OFFICE_HOURS)
        self._full_day_us = sum(e - s for s, e in self._intervals)
        self._changes: dict[date, tuple[bool, str]] = {
            day: (change.working, change.note)
            for day, change in expand([*packaged_changes(), *overrides]).items()
        }
        self._apply_extras(set(extra_days_off), set(extra_working_days))
        self._years: dict[int, _YearTable] = {}

    def _apply_extras(self, days_off: set[date], working_days: set[date]) -> None:
        both = days_off & working_days
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"days both in extra_days_off and extra_working_days: {listed}")
        for day in days_off:
            self._changes[day] = (False, _EXTRA_DAY_OFF_NOTE)
        for day in working_days:
            self._changes[day] = (True, _EXTRA_WORKING_DAY_NOTE)

    @classmethod
    def from_settings(cls, settings: CalendarSettings) -> WorkCalendar:
        """Office hours and the local overrides file from ``Settings``."""
        path = settings.calendar_overrides_file
        overrides = load_changes_file(Path(path)) if path else []
        return cls(office_hours=settings.office_intervals, overrides=overrides)

    # ---- days -------------------------------------------------------------

    def _year(self, year: int) -> _YearTable:
        table = self._years.get(year)
        if table is None:
            # Racing threads may both build it; the result is the same.
            table = self._years[year] = self._build_year(year)
        return table

    def _build_year(self, year: int) -> _YearTable:
        package_off, package_workdays = _package_year(year)
        ordinals: list[int] = []
        notes: dict[date, str] = {}
        day, end = date(year, 1, 1), date(year, 12, 31)
        while day <= end:
            working, note = day.weekday() < 5, None
            if day in package_off:
                working, note = False, package_off[day]
            if day in package_workdays:
                working, note = True, _MAKE_UP_SATURDAY_NOTE
            if day in self._changes:
                working, note = self._changes[day]
            if working:
                ordinals.append(day.toordinal())
            if note:
                notes[day] = note
            day += _ONE_DAY
        return _YearTable(ordinals=ordinals, working=frozenset(ordinals), notes=notes)

    def is_working_day(self, d: date) -> bool:
        """True if the agency works on ``d`` (a datetime is read in Vietnam time)."""
        if isinstance(d, datetime):
            d = to_local(d).date()
        return d.toordinal() in self._year(d.year).working

    def describe(self, d: date) -> str | None:
        """Why ``d`` is off or a make-up working day (holiday name, announcement note)."""
        return self._year(d.year).notes.get(d)

    def _nth_after(self, d: date, n: int) -> date:
        """The n-th working day strictly after ``d`` (n ≥ 1)."""
        year = d.year
        table = self._year(year)
        index = bisect_right(table.ordinals, d.toordinal())
        while True:
            available = len(table.ordinals) - index
            if n <= available:
                return date.fromordinal(table.ordinals[index + n - 1])
            n -= available
            year += 1
            table, index = self._year(year), 0

    def _nth_before(self, d: date, n: int) -> date:
        """The n-th working day strictly before ``d`` (n ≥ 1)."""
        year = d.year
        table = self._year(year)
        index = bisect_left(table.ordinals, d.toordinal())
        while True:
            if n <= index:
                return date.fromordinal(table.ordinals[index - n])
            n -= index
            year -= 1
            table = self._year(year)
            index = len(table.ordinals)

    def _count_to(self, d: date) -> int:
        """Working days from 1 January of ``d``'s year up to ``d`` inclusive."""
        return bisect_right(self._year(d.year).ordinals, d.toordinal())

    def working_days_between(self, a: date, b: date) -> int:
        """Working days d with a < d ≤ b; negative (the same count) if b < a.

        Whole years are counted from the cached tables, so long ranges
        cost one bisect per end plus one addition per year.
        """
        if b < a:
            return -self.working_days_between(b, a)
        whole_years = sum(len(self._year(y).ordinals) for y in range(a.year, b.year))
        return whole_years + self._count_to(b) - self._count_to(a)

    # ---- moments ----------------------------------------------------------

    def next_working_moment(self, t: datetime) -> datetime:
        """``t`` if inside office hours of a working day, else the next opening.

        Periods are half-open: at 11:30 the office is closed (→ 13:30), at
        17:00 too (→ 07:00 of the next working day).
        """
        local = to_local(t)
        day = local.date()
        if self.is_working_day(day):
            now = _us_of_day(local)
            for start, end in self._intervals:
                if now < start:
                    return _at(day, start)
                if now < end:
                    return local
        return _at(self._nth_after(day, 1), self._intervals[0][0])

    def next_working_day_start(self, t: datetime) -> datetime:
        """The opening of the first working day after ``t``'s day (Vietnam time)."""
        return _at(self._nth_after(to_local(t).date(), 1), self._intervals[0][0])

    def is_working_moment(self, t: datetime) -> bool:
        """True if ``t`` is in office hours of a working day, the close of a period
        included: an appointment "by 17:00" (a same-day limit's due moment) is one."""
        local = to_local(t)
        if not self.is_working_day(local.date()):
            return False
        now = _us_of_day(local)
        return any(start <= now <= end for start, end in self._intervals)

    def closing_time(self, t: datetime) -> datetime:
        """The close of office hours on ``t``'s day (Vietnam time)."""
        return _at(to_local(t).date(), self._intervals[-1][1])

    def add_working_days(self, t: datetime, n: int) -> datetime:
        """Due moment: ``t`` moved to the next working moment, plus ``n`` working
        days keeping the time of day. ``n = 0`` gives the next working moment."""
        _check_count(n, "working days")
        start = self.next_working_moment(t)
        if n == 0:
            return start
        return datetime.combine(self._nth_after(start.date(), n), start.timetz())

    def add_working_days_fractional(self, t: datetime, days: float) -> datetime:
        """``add_working_days`` for the whole days, then the fraction in office hours
        (half a working day from 09:00 is 15:00 with the default office hours)."""
        if isinstance(days, bool) or not isinstance(days, int | float):
            raise TypeError(f"working days must be a number, got {days!r}")
        if not math.isfinite(days):
            raise ValueError(f"working days must be a finite number, got {days!r}")
        if days < 0:
            raise ValueError(f"working days must not be negative, got {days!r}")
        whole = math.floor(days)
        due = self.add_working_days(t, whole)
        if days > whole:
            due = self.add_working_hours(due, (days - whole) * self.hours_per_day)
        return due

    def subtract_working_days(self, t: datetime, n: int) -> datetime:
        """The moment ``n`` working days before ``t``, keeping the time of day.

        If ``t`` falls on a day off, counting starts from the previous
        working day (so ``n = 0`` gives that day at the same time).
        """
        _check_count(n, "working days")
        local = to_local(t)
        day = local.date()
        if not self.is_working_day(day):
            day = self._nth_before(day, 1)
        if n:
            day = self._nth_before(day, n)
        return datetime.combine(day, local.timetz())

    def add_working_hours(self, t: datetime, hours: float) -> datetime:
        """``t`` plus ``hours`` of office time (lunch break and days off skipped).

        A result exactly at the close of a period stays there (8 h from
        Monday 07:00 is Monday 17:00, not Tuesday 07:00).
        """
        if isinstance(hours, bool) or not math.isfinite(hours) or hours < 0:
            raise ValueError(f"working hours must be a finite number ≥ 0, got {hours!r}")
        start = self.next_working_moment(t)
        remaining = round(hours * _US_PER_HOUR)
        if remaining == 0:
            return start
        day, now = start.date(), _us_of_day(start)
        for begin, end in self._intervals:
            if now >= end:
                continue
            begin = max(begin, now)
            if remaining <= end - begin:
                return _at(day, begin + remaining)
            remaining -= end - begin
        # Skip whole days at once; (remaining - 1) keeps an exact fit on the last day.
        skipped = (remaining - 1) // self._full_day_us
        remaining -= skipped * self._full_day_us
        return self._within_day(self._nth_after(day, skipped + 1), remaining)

    def _within_day(self, day: date, remaining: int) -> datetime:
        """The moment ``remaining`` µs of office time after opening (≤ a full day)."""
        for begin, end in self._intervals:
            if remaining <= end - begin:
                return _at(day, begin + remaining)
            remaining -= end - begin
        raise AssertionError("remaining office time exceeds a working day")

    def _office_us_before(self, local: datetime) -> int:
        """Office time already elapsed on ``local``'s day before ``local``."""
        if not self.is_working_day(local.date()):
            return 0
        now = _us_of_day(local)
        return sum(min(max(now - s, 0), e - s) for s, e in self._intervals)

    @property
    def hours_per_day(self) -> float:
        """Office hours in one working day (a fractional working day converts through it)."""
        return self._full_day_us / 3_600_000_000

    def working_days_elapsed(self, a: datetime, b: datetime) -> float:
        """Office time from ``a`` to ``b`` in working days (a full day = all
        office hours of a day); negative if ``b`` is before ``a``."""
        la, lb = to_local(a), to_local(b)
        if lb < la:
            return -self.working_days_elapsed(b, a)
        # Days in [a's day, b's day) count whole; then adjust for the partial ends.
        whole = self.working_days_between(la.date() - _ONE_DAY, lb.date() - _ONE_DAY)
        total = whole * self._full_day_us + self._office_us_before(lb) - self._office_us_before(la)
        return total / self._full_day_us

    @property
    def office_hours(self) -> list[tuple[time, time]]:
        """Office periods of a working day, in order."""
        return [(_to_time(s), _to_time(e)) for s, e in self._intervals]


def _to_time(us: int) -> time:
    seconds, micro = divmod(us, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return time(hour, minute, second, micro)
