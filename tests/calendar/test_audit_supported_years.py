"""The calendar only answers for years whose holidays it knows.

``holidays.VN`` covers 1901–2100; for 2101 it is empty, so 2/9/2101 (National Day,
a Friday) would silently count as a working day. Such years are refused.
"""

from __future__ import annotations

from datetime import date

import holidays
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dichvucong.api.problems import install_problem_handlers
from dichvucong.api.routes.calendar import router
from dichvucong.calendar import WorkCalendar
from dichvucong.calendar.work_calendar import SUPPORTED_YEARS

OUT_OF_RANGE = "Ngày phải trong các năm 1901–2100."


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.state.calendar = WorkCalendar()
    install_problem_handlers(app)
    app.include_router(router, prefix="/api/v1")
    return TestClient(app)


def test_supported_years_are_those_the_holidays_package_covers() -> None:
    assert (SUPPORTED_YEARS.start, SUPPORTED_YEARS.stop - 1) == (1901, 2100)
    assert holidays.VN(years=SUPPORTED_YEARS.stop - 1)  # 2100: holidays known
    assert not holidays.VN(years=SUPPORTED_YEARS.stop)  # 2101: nothing known
    assert not WorkCalendar().is_working_day(date(2100, 9, 2))  # National Day, a Thursday


def assert_year_refused(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "year_out_of_range" and body["detail"] == OUT_OF_RANGE


def test_days_of_2101_are_refused(client: TestClient) -> None:
    assert_year_refused(
        client.get("/api/v1/calendar/days", params={"from": "2101-09-01", "to": "2101-09-03"})
    )
    assert_year_refused(
        client.get("/api/v1/calendar/days", params={"from": "1900-12-30", "to": "1901-01-02"})
    )


def test_due_in_2101_is_refused(client: TestClient) -> None:
    assert_year_refused(
        client.get("/api/v1/calendar/due", params={"start": "2101-01-03T09:00+07:00", "days": 1})
    )


def test_due_moment_landing_in_2101_is_refused(client: TestClient) -> None:
    # Starts in a supported year, but 10 working days later is in 2101, whose holidays
    # are unknown.
    assert_year_refused(
        client.get("/api/v1/calendar/due", params={"start": "2100-12-28T09:00+07:00", "days": 10})
    )


def test_last_supported_days_still_answered(client: TestClient) -> None:
    response = client.get(
        "/api/v1/calendar/days", params={"from": "2100-09-01", "to": "2100-09-03"}
    )
    assert response.status_code == 200
    assert [d["working"] for d in response.json()] == [True, False, False]  # 2/9 and 3/9 off
