"""The dashboard offers the quarterly and yearly reports the README promises: a form
whose default values (the last finished quarter) download a real report."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from dichvucong.api.routes.supervision_pages import _last_quarter


def test_the_report_form_downloads_the_last_quarter(client: TestClient) -> None:
    html = client.get("/giam-sat").text
    form = re.search(r'<form class="period" method="get" action="/api/v1/reports">(.*?)</form>',
                     html, re.S)
    assert form, "no report form on the dashboard"
    body = form.group(1)
    for name in ("year", "quarter", "agency", "format"):
        assert re.search(rf'<label for="report-{name}">', body), name  # labelled fields
    year = re.search(r'name="year"[^>]*value="(\d{4})"', body)
    quarter = re.search(r'<option value="(\d)" selected>', body)
    assert year and quarter
    assert {"xlsx", "csv", "html"} <= set(re.findall(r'<option value="(\w+)">', body))
    answer = client.get(
        "/api/v1/reports",
        params={"year": year.group(1), "quarter": quarter.group(1), "agency": "", "format": "xlsx"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.content[:2] == b"PK"  # an XLSX (a zip)
    year_csv = client.get(
        "/api/v1/reports",
        params={"year": year.group(1), "quarter": "", "agency": "", "format": "csv"},
    )  # "Cả năm" and "Tất cả" are sent as empty values
    assert year_csv.status_code == 200 and "text/csv" in year_csv.headers["content-type"]
    assert client.get("/api/v1/reports", params={"year": 2027, "quarter": "5"}).status_code == 422


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2027, 1, 5, 3, tzinfo=UTC), {"report_year": 2026, "report_quarter": 4}),
        (datetime(2027, 3, 31, 16, 59, tzinfo=UTC), {"report_year": 2026, "report_quarter": 4}),
        (datetime(2027, 3, 31, 17, 0, tzinfo=UTC), {"report_year": 2027, "report_quarter": 1}),
        (datetime(2027, 12, 31, 12, tzinfo=UTC), {"report_year": 2027, "report_quarter": 3}),
    ],
)
def test_the_last_finished_quarter_in_vietnam_time(now: datetime, expected: dict) -> None:
    assert _last_quarter(now) == expected
