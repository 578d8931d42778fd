"""Inputs and outputs of the scheduled workflows and their activities (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DayInfo:
    day: str  # ISO date, Vietnam time
    working_day: bool
    description: str | None = None  # the holiday's name on a day off
    first_working_day_of_quarter: bool = False  # the first working day of Jan/Apr/Jul/Oct


@dataclass
class DigestInput:
    day: str  # ISO date the digest is for


@dataclass
class DigestResult:
    day: str
    skipped: bool
    reason: str | None = None
    agencies: dict[str, int] = field(default_factory=dict)  # agency -> cases at risk
    notices: int = 0


@dataclass
class ResyncResult:
    attempted: int = 0
    synced: int = 0
    rejected: int = 0
    failed: int = 0


@dataclass
class SweepResult:
    removed: int


@dataclass
class QuarterlyReportInput:
    year: int
    quarter: int


@dataclass
class QuarterlyReportResult:
    skipped: bool
    reason: str | None = None
    path: str | None = None
