"""Indicators on a generated read model with answers counted by hand."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest

from dichvucong.calendar import WorkCalendar
from dichvucong.db.models import Dossier
from dichvucong.stats import (
    compute_statistics,
    date_range,
    province_rates,
    quarter_period,
    year_period,
)
from dichvucong.stats.indicators import D, _processing_days

from .known_data import (
    EXPECTED_A,
    EXPECTED_B,
    NOW,
    PROCESSING_DAYS_A,
    PROCESSING_DAYS_B,
    A,
    B,
    make_db,
    vn,
)

Q2 = quarter_period(2027, 2)


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = make_db(tmp_path)
    yield database
    database.dispose()


def test_periods_are_vietnam_time() -> None:
    assert Q2.start == vn(2027, 4, 1) and Q2.end == vn(2027, 7, 1)
    assert quarter_period(2026, 4).end == vn(2027, 1, 1)
    assert year_period(2027).label == "Năm 2027"
    assert Q2.label == "Quý II năm 2027"
    r = date_range(vn(2027, 4, 5).date(), vn(2027, 4, 5).date())
    assert r.start == vn(2027, 4, 5) and r.end == vn(2027, 4, 6)
    with pytest.raises(ValueError):
        quarter_period(2027, 5)


def test_counts_per_agency(db) -> None:  # type: ignore[no-untyped-def]
    stats = compute_statistics(db, Q2, calendar=WorkCalendar(), now=NOW)
    a, b = stats.by_agency[A], stats.by_agency[B]
    for key, value in EXPECTED_A.items():
        assert getattr(a, key) == value, key
    for key, value in EXPECTED_B.items():
        assert getattr(b, key) == value, key
    assert a.processing_days_total == pytest.approx(PROCESSING_DAYS_A)
    assert b.processing_days_total == pytest.approx(PROCESSING_DAYS_B)


def test_rates(db) -> None:  # type: ignore[no-untyped-def]
    stats = compute_statistics(db, Q2, calendar=WorkCalendar(), now=NOW)
    a = stats.by_agency[A]
    assert a.online_rate == pytest.approx(7 / 10)
    assert a.national_sync_rate == pytest.approx(6 / 10)
    assert a.online_rate_synced == pytest.approx(7 / 10 * 6 / 10)  # Decision 766: 0.42
    assert a.online_payment_rate == pytest.approx(1 / 2)
    assert a.on_time_rate == pytest.approx(4 / 6)
    assert a.early_rate == pytest.approx(1 / 6)
    assert a.late_rate == pytest.approx(2 / 6)
    assert a.digitised_rate == pytest.approx(3 / 5)  # the rejection has no result
    assert a.complaint_rate == pytest.approx(1 / 6)
    assert a.satisfaction_rate == pytest.approx(1 - (2 + 1) / 6)
    assert a.rating_satisfied_rate == pytest.approx(2 / 3)
    assert a.average_processing_days == pytest.approx(24.75 / 6)
    # F1 answered on time; F2 was still within its deadline at the end of Q2 (due 1/7): its
    # outcome is unknown, so it counts neither for nor against the rate (1/1, not 1/2).
    assert a.feedback_on_time_rate == pytest.approx(1 / 1)

    total = stats.total
    assert (total.received, total.resolved, total.late, total.with_complaints) == (11, 7, 2, 1)
    assert total.on_time_rate == pytest.approx(5 / 7)
    assert total.satisfaction_rate == pytest.approx(1 - 3 / 7)
    assert total.average_processing_days == pytest.approx((24.75 + 0.625) / 7)
    # F1 on time, F3 answered late, F4 overdue; F2 not yet due is left out: 1/3.
    assert total.feedback_on_time_rate == pytest.approx(1 / 3)
    assert (total.received_online, total.national_synced) == (8, 7)
    assert total.national_sync_rate == pytest.approx(7 / 11)
    assert total.online_rate_synced == pytest.approx(8 / 11 * 7 / 11)
    b = stats.by_agency[B]
    assert (b.national_sync_rate, b.online_rate_synced) == (1.0, 1.0)


def test_sync_rate_agrees_with_the_national_sync_query(db) -> None:  # type: ignore[no-untyped-def]
    from dichvucong.integrations.national import sync_rates

    stats = compute_statistics(db, Q2, now=NOW)
    with db.session() as session:
        rates = sync_rates(session, Q2.start, Q2.end)
    assert [(r.agency_code, r.received, r.synced) for r in rates] == [(A, 10, 6), (B, 1, 1)]
    for r in rates:
        ind = stats.by_agency[r.agency_code]
        assert (ind.received, ind.national_synced, ind.national_sync_rate) == (
            r.received,
            r.synced,
            r.rate,
        )


def test_agency_filter_and_empty_agency(db) -> None:  # type: ignore[no-untyped-def]
    stats = compute_statistics(
        db, Q2, calendar=WorkCalendar(), now=NOW, agencies=[B, "000.00.99.H19"]
    )
    assert set(stats.by_agency) == {B, "000.00.99.H19"}
    assert stats.by_agency[B].received == 1
    empty = stats.by_agency["000.00.99.H19"]
    assert empty.received == 0 and empty.on_time_rate is None
    assert empty.satisfaction_rate is None and empty.average_processing_days is None
    assert empty.national_synced == 0 and empty.national_sync_rate is None
    assert empty.online_rate_synced is None
    assert stats.by_agency[B].national_synced == 1


def test_other_period_and_progress(db) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[int, int, str]] = []
    stats = compute_statistics(
        db,
        quarter_period(2027, 3),
        calendar=WorkCalendar(),
        now=NOW,
        progress=lambda done, total, label: seen.append((done, total, label)),
    )
    a = stats.by_agency[A]
    # Only A-12 is resolved in Q3; are still open (NOW is 15 July).
    assert (a.received, a.resolved, a.early, a.pending) == (0, 1, 1, 3)
    assert a.national_synced == 0 and a.online_rate_synced is None
    # Q3 is not over: overdue is judged at NOW; A-9 (due 13/7) is overdue by then.
    assert a.pending_overdue == 2
    assert seen[0][0] == 0 and "Đồng bộ Cổng DVC quốc gia" in [label for *_, label in seen]
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] == 6


def test_province_rates_for_the_home_page(db) -> None:  # type: ignore[no-untyped-def]
    with db.session() as session:
        rates = province_rates(session, period=Q2)
    assert rates == {
        "satisfaction": round(400 / 7, 2),
        "on_time": round(500 / 7, 2),
        "received": 11,
        "resolved": 7,
    }
    assert province_rates(db, period=year_period(2030)) == {
        "satisfaction": 0.0,
        "on_time": 0.0,
        "received": 0,
        "resolved": 0,
    }


def test_processing_days_match_the_calendar_row_by_row(tmp_path: Path) -> None:
    """The grouped SQL decomposition equals working_days_elapsed summed per row."""
    from dichvucong.db.engine import Database
    from dichvucong.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'random.db'}"
    upgrade(url)
    db = Database(url)
    calendar = WorkCalendar()
    rng = random.Random(766)
    expected: dict[str, float] = {A: 0.0, B: 0.0}
    with db.session() as session:
        for i in range(400):
            received = vn(2027, 1, 1) + timedelta(seconds=rng.randrange(0, 200 * 86400))
            finished = received + timedelta(seconds=rng.randrange(0, 40 * 86400))
            agency = rng.choice([A, B])
            session.add(
                Dossier(
                    code=f"R-{i}",
                    procedure_code="p",
                    agency_code=agency,
                    submitted_at=received,
                    received_at=received,
                    finished_at=finished,
                    timeliness="on_time",
                )
            )
            expected[agency] += calendar.working_days_elapsed(received, finished)
        session.commit()
    with db.engine.connect() as conn:
        got = _processing_days(conn, calendar, D.received_at.is_not(None))
    assert got[A][0] + got[B][0] == 400
    assert got[A][1] == pytest.approx(expected[A], abs=1e-6)
    assert got[B][1] == pytest.approx(expected[B], abs=1e-6)
    db.dispose()
