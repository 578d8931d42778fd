"""`dichvucong calendar due` prints the due moment in Vietnam time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dichvucong.cli import main
from dichvucong.settings import get_settings


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("DVC_CALENDAR_OVERRIDES_FILE", raising=False)
    monkeypatch.delenv("DVC_OFFICE_HOURS", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_due_over_tet_2025(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "due", "2025-01-24T10:00", "1"]) == 0
    assert capsys.readouterr().out.strip() == "2025-02-03T10:00+07:00"


def test_due_in_hours(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "due", "2025-03-07T16:00+07:00", "2", "--hours"]) == 0
    assert capsys.readouterr().out.strip() == "2025-03-10T08:00+07:00"


def test_due_with_local_overrides_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "local.yaml"
    path.write_text(
        "changes:\n  2025:\n    - date: 2025-02-03\n      kind: day_off\n"
        "      note: Nghỉ thêm\n      source: UBND tỉnh\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DVC_CALENDAR_OVERRIDES_FILE", str(path))
    assert main(["calendar", "due", "2025-01-24T10:00", "1"]) == 0
    assert capsys.readouterr().out.strip() == "2025-02-04T10:00+07:00"


def test_negative_days_reported_as_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "due", "2025-01-24T10:00", "-1"]) == 2
    assert "negative" in capsys.readouterr().err


def test_half_days_are_counted_in_office_hours(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "due", "2025-01-24T10:00", "1.5"]) == 0
    assert capsys.readouterr().out.strip() == "2025-02-03T16:00+07:00"


@pytest.mark.parametrize(
    "args",
    [["2199-01-02T10:00", "1"], ["1800-01-02T10:00", "1"], ["2100-12-31T10:00", "5"]],
)
def test_moments_the_calendar_does_not_know_are_refused(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Past the years of the holiday tables the answer would ignore every holiday.
    assert main(["calendar", "due", *args]) == 2
    assert "1901–2100" in capsys.readouterr().err


def test_a_word_for_the_amount_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "due", "2025-01-24T10:00", "năm"]) == 2
    assert "không phải là một số ngày" in capsys.readouterr().err
