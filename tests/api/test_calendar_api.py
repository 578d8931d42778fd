"""GET /api/v1/calendar/due and /api/v1/calendar/days on a tiny app."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dichvucong.api.problems import install_problem_handlers
from dichvucong.api.routes.calendar import router
from dichvucong.calendar import WorkCalendar


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.state.calendar = WorkCalendar()
    install_problem_handlers(app)
    app.include_router(router, prefix="/api/v1")
    return TestClient(app)


def test_due_in_days_over_tet_2025(client: TestClient) -> None:
    response = client.get(
        "/api/v1/calendar/due", params={"start": "2025-01-24T10:00+07:00", "days": 1}
    )
    assert response.status_code == 200
    assert response.json() == {"due": "2025-02-03T10:00:00+07:00"}


def test_due_in_hours_across_lunch(client: TestClient) -> None:
    response = client.get(
        "/api/v1/calendar/due", params={"start": "2025-03-04T10:00+07:00", "hours": 2}
    )
    assert response.json() == {"due": "2025-03-04T14:00:00+07:00"}


def test_due_start_in_utc_is_answered_in_vietnam_time(client: TestClient) -> None:
    response = client.get("/api/v1/calendar/due", params={"start": "2025-01-24T03:00Z", "days": 1})
    assert response.json() == {"due": "2025-02-03T10:00:00+07:00"}


def test_unencoded_plus_in_offset_is_repaired(client: TestClient) -> None:
    response = client.get("/api/v1/calendar/due?start=2025-01-24T10:00+07:00&days=1")
    assert response.status_code == 200
    assert response.json() == {"due": "2025-02-03T10:00:00+07:00"}


def test_naive_start_is_a_422_problem(client: TestClient) -> None:
    response = client.get("/api/v1/calendar/due", params={"start": "2025-01-24T10:00", "days": 1})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "naive_datetime"
    assert "+07:00" in body["detail"]


def test_garbage_start_and_missing_amount_are_422(client: TestClient) -> None:
    bad = client.get("/api/v1/calendar/due", params={"start": "tomorrow", "days": 1})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_datetime")
    neither = client.get("/api/v1/calendar/due", params={"start": "2025-01-24T10:00+07:00"})
    assert (neither.status_code, neither.json()["code"]) == (422, "days_or_hours")
    negative = client.get(
        "/api/v1/calendar/due", params={"start": "2025-01-24T10:00+07:00", "days": -1}
    )
    assert (negative.status_code, negative.json()["code"]) == (422, "validation_error")


def test_days_list_new_year_2026(client: TestClient) -> None:
    response = client.get(
        "/api/v1/calendar/days", params={"from": "2026-01-01", "to": "2026-01-10"}
    )
    assert response.status_code == 200
    days = {d["date"]: d for d in response.json()}
    assert len(days) == 10
    assert days["2026-01-01"]["working"] is False
    assert days["2026-01-02"]["working"] is False
    assert "10/01/2026" in days["2026-01-02"]["note"]
    assert days["2026-01-05"] == {"date": "2026-01-05", "working": True, "note": None}
    assert days["2026-01-10"]["working"] is True


def test_days_range_limits(client: TestClient) -> None:
    too_long = client.get(
        "/api/v1/calendar/days", params={"from": "2025-01-01", "to": "2026-12-31"}
    )
    assert (too_long.status_code, too_long.json()["code"]) == (422, "range_too_long")
    backwards = client.get(
        "/api/v1/calendar/days", params={"from": "2025-02-01", "to": "2025-01-01"}
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "invalid_range")


@pytest.mark.parametrize(
    "params",
    [
        {"start": "9999-12-31T10:00+07:00", "days": "1"},
        {"start": "0001-01-01T00:00+07:00", "days": "0"},
        {"start": "2027-01-04T10:00+07:00", "days": "99999999999999999999999"},
        {"start": "2027-01-04T10:00+07:00", "hours": "1e300"},
        {"start": "2027-01-04T10:00+07:00", "hours": "inf"},
        {"start": "2027-01-04T10:00+07:00", "hours": "nan"},
    ],
)
def test_absurd_moments_and_amounts_are_a_422_problem(
    client: TestClient, params: dict[str, str]
) -> None:
    response = client.get("/api/v1/calendar/due", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_days_outside_the_supported_years_are_a_422_problem(client: TestClient) -> None:
    response = client.get("/api/v1/calendar/days", params={"from": "9999-01-01", "to": "9999-01-31"})
    assert response.status_code == 422
    assert response.json()["detail"] == "Ngày phải trong các năm 1901–2100."
