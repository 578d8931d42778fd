"""A period given by one day only covers the rest of that day's year.

``GET /api/v1/stats?to=2025-12-31`` asked in 2026 used to start on 1 January 2026,
after its end, and failed "ngày kết thúc phải sau ngày bắt đầu".
"""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from dichvucong.stats import date_range, requested_period

from .known_data import vn

IN_2026 = vn(2026, 3, 10, 9)


def test_only_to_starts_on_1_january_of_its_year() -> None:
    assert requested_period(None, date(2025, 12, 31), IN_2026) == date_range(
        date(2025, 1, 1), date(2025, 12, 31)
    )
    assert requested_period(None, date(2026, 2, 1), IN_2026) == date_range(
        date(2026, 1, 1), date(2026, 2, 1)
    )


def test_only_from_runs_to_today_or_the_end_of_its_year() -> None:
    # this year: up to today
    assert requested_period(date(2026, 1, 15), None, IN_2026) == date_range(
        date(2026, 1, 15), date(2026, 3, 10)
    )
    # an earlier year: to its 31 December, not into this year
    assert requested_period(date(2025, 4, 1), None, IN_2026) == date_range(
        date(2025, 4, 1), date(2025, 12, 31)
    )
    # later this year (planning ahead): to the end of the year, not a backwards period
    assert requested_period(date(2026, 6, 1), None, IN_2026) == date_range(
        date(2026, 6, 1), date(2026, 12, 31)
    )


def test_stats_with_only_a_past_end_day(client: TestClient) -> None:
    answer = client.get("/api/v1/stats", params={"to": "2025-12-31"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["period"]["label"] == "Từ 01/01/2025 đến 31/12/2025"


def test_stats_with_only_a_past_start_day(client: TestClient) -> None:
    answer = client.get("/api/v1/stats", params={"from": "2025-04-01"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["period"]["label"] == "Từ 01/04/2025 đến 31/12/2025"
