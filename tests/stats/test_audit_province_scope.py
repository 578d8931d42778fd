"""One province scope: the stats API, the dashboard, the report and the home page agree.

An agency may leave the catalog (merged, renamed) while its dossiers stay in the read
model; they were received and decided in the province, so they count for the province
everywhere, and every catalog agency is still listed even without dossiers.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from dichvucong.api.deps import optional_principal
from dichvucong.calendar import WorkCalendar
from dichvucong.catalog import load_catalog
from dichvucong.db.models import Dossier
from dichvucong.reports import build_report
from dichvucong.stats import province_rates, quarter_period

from .known_data import NOW, make_db, vn
from .test_supervision_api import PROVINCE_SUPERVISOR, supervision_app

DEPARTED = "000.00.99.OLD"  # no longer in the catalog
Q2 = quarter_period(2027, 2)
Q2_QUERY = {"from": "2027-04-01", "to": "2027-06-30"}
# The hand-counted data (11 received, 7 resolved, 5 early or on time) plus one late
# dossier of the departed agency: 12 received, 8 resolved, 5/8 on time.
RECEIVED, RESOLVED, ON_TIME_RATE = 12, 8, 5 / 8


@pytest.fixture
def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = make_db(tmp_path)
    with db.session() as session:
        session.add(
            Dossier(
                code="OLD-1",
                agency_code=DEPARTED,
                procedure_code="ly-lich-tu-phap",
                channel="online",
                status="COMPLETED",
                timeliness="late",
                submitted_at=vn(2027, 4, 5, 9),
                received_at=vn(2027, 4, 5, 9),
                finished_at=vn(2027, 4, 9, 9),
                closed_at=vn(2027, 4, 9, 9),
            )
        )
        session.commit()
    app = supervision_app(tmp_path, db)
    app.dependency_overrides[optional_principal] = lambda: PROVINCE_SUPERVISOR
    yield TestClient(app), db
    db.dispose()


def test_departed_agency_is_not_in_the_catalog() -> None:
    assert DEPARTED not in load_catalog().agencies


def test_stats_api_counts_the_departed_agency(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    body = client.get("/api/v1/stats", params=Q2_QUERY).json()
    assert body["total"]["received"] == RECEIVED and body["total"]["resolved"] == RESOLVED
    assert body["total"]["on_time_rate"] == pytest.approx(ON_TIME_RATE, abs=1e-6)
    codes = [a["code"] for a in body["agencies"]]
    # every catalog agency listed (most without dossiers), and the departed one by its code
    assert set(codes) == set(load_catalog().agencies) | {DEPARTED}
    departed = next(a for a in body["agencies"] if a["code"] == DEPARTED)
    assert departed["name"] == DEPARTED and departed["received"] == 1


def test_dashboard_counts_the_departed_agency(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    html = client.get("/giam-sat", params=Q2_QUERY).text
    assert f'<span class="n">{RECEIVED}</span>Hồ sơ tiếp nhận' in html
    assert f'<span class="n">{RESOLVED}</span>Hồ sơ đã giải quyết' in html
    assert '<span class="n">62,50 %</span>Trước hạn và đúng hạn' in html


def test_report_and_home_page_agree_with_the_api(env) -> None:  # type: ignore[no-untyped-def]
    client, db = env
    api_total = client.get("/api/v1/stats", params=Q2_QUERY).json()["total"]
    report = build_report(db, load_catalog(), WorkCalendar(), 2027, 2, now=NOW)
    assert report.province is not None
    province = report.province.indicators
    assert (province.received, province.resolved) == (api_total["received"], RESOLVED)
    assert province.on_time_rate == pytest.approx(api_total["on_time_rate"], abs=1e-6)
    xlsx = client.get("/api/v1/reports", params={"year": 2027, "quarter": 2}).content
    assert load_workbook(io.BytesIO(xlsx))["Toàn tỉnh"]["C6"].value == RECEIVED
    home = province_rates(db, period=Q2)
    assert (home["received"], home["resolved"]) == (RECEIVED, RESOLVED)
    assert home["on_time"] == pytest.approx(ON_TIME_RATE * 100, abs=0.01)
