"""Announced changes to the working calendar, kept as data (YAML), not code.

Each year the Government (through the Ministry of Labour, since 2025 the
Ministry of Home Affairs) announces swaps for state agencies: a weekday off
in exchange for a Saturday worked. Provinces also announce days when
reception stops (Tết). These are listed in ``announced_changes.yaml`` with
their source; operators may add a local file of the same format
(``Settings.calendar_overrides_file``).

File format::

    changes:
      2026:
        - date: 2026-01-02
          kind: day_off            # or working_day
          note: "Nghỉ Tết Dương lịch (hoán đổi với thứ Bảy 10/01/2026)"
          source: "Bộ Nội vụ, thông báo ngày 25/12/2025"
        - date: 2026-02-14
          until: 2026-02-22        # optional: inclusive range
          kind: day_off
          note: "..."
          source: "..."
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PACKAGED_FILE_NAME = "announced_changes.yaml"

ChangeKind = Literal["day_off", "working_day"]


class CalendarDataError(ValueError):
    """A calendar data file is missing, unreadable or invalid (names file and entry)."""


class AnnouncedChange(BaseModel):
    """One announced day off or make-up working day (or an inclusive range of them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date
    until: dt.date | None = Field(None, description="Last day of a range, inclusive.")
    kind: ChangeKind
    note: str = Field(min_length=1, description="Reason shown to people (Vietnamese).")
    source: str = Field(min_length=1, description="Legal act or announcement.")

    @model_validator(mode="after")
    def _range_in_order(self) -> AnnouncedChange:
        if self.until is not None and self.until < self.date:
            raise ValueError(f"until {self.until} is before date {self.date}")
        return self

    @property
    def working(self) -> bool:
        return self.kind == "working_day"

    def days(self) -> Iterator[dt.date]:
        last = self.until or self.date
        for ordinal in range(self.date.toordinal(), last.toordinal() + 1):
            yield dt.date.fromordinal(ordinal)


class AnnouncedChangesFile(BaseModel):
    """The whole file: changes grouped by year, each entry's date inside its year."""

    model_config = ConfigDict(extra="forbid")

    changes: dict[int, list[AnnouncedChange]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> AnnouncedChangesFile:
        seen: dict[dt.date, ChangeKind] = {}
        for year, entries in self.changes.items():
            for index, entry in enumerate(entries):
                where = f"changes → {year} → entry {index} (date {entry.date})"
                if entry.date.year != year or (entry.until and entry.until.year != year):
                    raise ValueError(f"{where}: date is not in year {year}")
                for day in entry.days():
                    # The same day both off and worked in one file is a typo, not an intent.
                    if seen.setdefault(day, entry.kind) != entry.kind:
                        raise ValueError(
                            f"{where}: {day} is listed both as day_off and working_day"
                        )
        return self

    def all_changes(self) -> list[AnnouncedChange]:
        return [entry for year in sorted(self.changes) for entry in self.changes[year]]


def _describe_errors(exc: ValidationError, raw: Any) -> str:
    """Pydantic errors as 'changes → 2026 → entry 0 (date 2026-01-02) → kind: message'."""
    lines = []
    for error in exc.errors():
        loc = list(error.get("loc", ()))
        parts: list[str] = []
        if len(loc) >= 3 and loc[0] == "changes":
            parts = ["changes", str(loc[1]), f"entry {loc[2]}{_entry_date(raw, loc[1], loc[2])}"]
            parts += [str(p) for p in loc[3:]]
        else:
            parts = [str(p) for p in loc]
        prefix = " → ".join(parts)
        lines.append(f"{prefix}: {error['msg']}" if prefix else str(error["msg"]))
    return "; ".join(lines)


def _entry_date(raw: Any, year: Any, index: Any) -> str:
    # Naming the entry's date lets an operator find it in a long file.
    try:
        value = raw["changes"][year][index]["date"]
    except (KeyError, IndexError, TypeError):
        return ""
    return f" (date {value})"


def parse_changes(text: str, *, origin: str) -> list[AnnouncedChange]:
    """Parse and validate YAML text; errors name ``origin`` (the file) and the entry."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CalendarDataError(f"calendar data file {origin}: not valid YAML: {exc}") from exc
    if raw is None:
        return []
    try:
        parsed = AnnouncedChangesFile.model_validate(raw)
    except ValidationError as exc:
        raise CalendarDataError(
            f"calendar data file {origin}: {_describe_errors(exc, raw)}"
        ) from exc
    return parsed.all_changes()


def load_changes_file(path: Path) -> list[AnnouncedChange]:
    """Read a local overrides file (same format as the packaged one)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarDataError(f"calendar data file {path}: cannot read: {exc}") from exc
    return parse_changes(text, origin=str(path))


@lru_cache(maxsize=1)
def packaged_changes() -> tuple[AnnouncedChange, ...]:
    """The changes shipped with the package, read once per process."""
    resource = resources.files("dichvucong.calendar").joinpath(PACKAGED_FILE_NAME)
    return tuple(parse_changes(resource.read_text(encoding="utf-8"), origin=str(resource)))


def expand(changes: Iterable[AnnouncedChange]) -> dict[dt.date, AnnouncedChange]:
    """Day → change; a later change for the same day wins (local overrides come last)."""
    by_day: dict[dt.date, AnnouncedChange] = {}
    for change in changes:
        for day in change.days():
            by_day[day] = change
    return by_day
