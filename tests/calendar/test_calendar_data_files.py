"""The packaged announced-changes file and operators' local overrides files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import pytest

from dichvucong.calendar import VN_TZ, CalendarDataError, WorkCalendar
from dichvucong.calendar.announced import load_changes_file, packaged_changes

LOCAL_FILE = """\
changes:
  2025:
    - date: 2025-03-04
      kind: day_off
      note: "Nghỉ kỷ niệm ngày thành lập tỉnh"
      source: "Quyết định của UBND tỉnh (ví dụ)"
    - date: 2025-03-08
      kind: working_day
      note: "Làm việc bù"
      source: "Quyết định của UBND tỉnh (ví dụ)"
  2026:
    - date: 2026-01-02
      kind: working_day
      note: "Bộ phận một cửa vẫn làm việc"
      source: "Kế hoạch trực của Trung tâm Phục vụ hành chính công"
"""


@dataclass
class FakeSettings:
    office_intervals: list[tuple[time, time]]
    calendar_overrides_file: Path | None


def test_packaged_file_is_valid_and_cites_sources() -> None:
    changes = packaged_changes()
    assert {c.date for c in changes} >= {
        date(2024, 4, 29),
        date(2024, 5, 4),
        date(2025, 5, 2),
        date(2025, 4, 26),
        date(2026, 1, 2),
        date(2026, 1, 10),
        date(2026, 2, 14),
        date(2026, 8, 31),
        date(2026, 8, 22),
    }
    assert all(c.source.strip() and c.note.strip() for c in changes)


def test_local_override_file_through_settings(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text(LOCAL_FILE, encoding="utf-8")
    settings = FakeSettings([(time(7, 0), time(11, 30)), (time(13, 30), time(17, 0))], path)
    cal = WorkCalendar.from_settings(settings)
    assert not cal.is_working_day(date(2025, 3, 4))
    assert cal.is_working_day(date(2025, 3, 8))
    assert cal.describe(date(2025, 3, 4)) == "Nghỉ kỷ niệm ngày thành lập tỉnh"
    # Local entries win over the packaged file.
    assert cal.is_working_day(date(2026, 1, 2))
    start = datetime(2025, 3, 3, 10, tzinfo=VN_TZ)
    assert cal.add_working_days(start, 1) == datetime(2025, 3, 5, 10, tzinfo=VN_TZ)


def test_settings_without_overrides_file_uses_office_hours() -> None:
    settings = FakeSettings([(time(8, 0), time(16, 0))], None)
    cal = WorkCalendar.from_settings(settings)
    start = datetime(2025, 3, 4, 7, tzinfo=VN_TZ)
    assert cal.next_working_moment(start) == datetime(2025, 3, 4, 8, tzinfo=VN_TZ)


def test_real_settings_object(tmp_path: Path) -> None:
    from dichvucong.settings import Settings

    path = tmp_path / "local.yaml"
    path.write_text(LOCAL_FILE, encoding="utf-8")
    cal = WorkCalendar.from_settings(Settings(calendar_overrides_file=path))
    assert not cal.is_working_day(date(2025, 3, 4))


def test_bad_kind_names_file_entry_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "changes:\n  2026:\n    - date: 2026-03-02\n      kind: holiday\n"
        "      note: x\n      source: y\n",
        encoding="utf-8",
    )
    with pytest.raises(CalendarDataError) as info:
        load_changes_file(path)
    message = str(info.value)
    assert str(path) in message
    assert "2026" in message and "entry 0" in message and "2026-03-02" in message
    assert "kind" in message


def test_missing_source_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "changes:\n  2026:\n    - date: 2026-03-02\n      kind: day_off\n      note: x\n",
        encoding="utf-8",
    )
    with pytest.raises(CalendarDataError, match="source"):
        load_changes_file(path)


def test_date_outside_its_year_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "changes:\n  2025:\n    - date: 2026-03-02\n      kind: day_off\n"
        "      note: x\n      source: y\n",
        encoding="utf-8",
    )
    with pytest.raises(CalendarDataError, match="not in year 2025"):
        load_changes_file(path)


def test_invalid_yaml_and_missing_file_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("changes: [unclosed\n", encoding="utf-8")
    with pytest.raises(CalendarDataError, match="broken.yaml"):
        load_changes_file(path)
    with pytest.raises(CalendarDataError, match="absent.yaml"):
        load_changes_file(tmp_path / "absent.yaml")


def test_bad_overrides_file_fails_calendar_construction(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "changes:\n  2026:\n    - date: not-a-date\n      kind: day_off\n"
        "      note: x\n      source: y\n",
        encoding="utf-8",
    )
    settings = FakeSettings([(time(7, 0), time(17, 0))], path)
    with pytest.raises(CalendarDataError, match=r"bad\.yaml.*entry 0.*date"):
        WorkCalendar.from_settings(settings)
