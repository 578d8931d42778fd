"""``AwareDateTime`` on SQLite: what is written is read back as the same aware UTC moment,
whatever zone it was given in, and text in other shapes still reads (the general parser)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from dichvucong.db.types import AwareDateTime

HANOI = timezone(timedelta(hours=7))


@pytest.fixture
def table() -> tuple[sa.Engine, sa.Table]:
    engine = sa.create_engine("sqlite://")
    meta = sa.MetaData()
    t = sa.Table("t", meta, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("at", AwareDateTime(), nullable=True))  # fmt: skip
    meta.create_all(engine)
    return engine, t


def test_written_moments_read_back_aware_in_utc(table: tuple[sa.Engine, sa.Table]) -> None:
    engine, t = table
    moments = [
        datetime(2026, 1, 12, 6, 9, 58, tzinfo=UTC),
        datetime(2026, 2, 16, 23, 59, 59, 999999, tzinfo=HANOI),  # 16:59:59.999999 UTC
        None,
    ]
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"id": i, "at": m} for i, m in enumerate(moments)])
        stored = conn.execute(sa.text("SELECT at FROM t ORDER BY id")).scalars().all()
        read = conn.execute(sa.select(t.c.at).order_by(t.c.id)).scalars().all()
    # UTC wall time in the file, so SQL comparisons between rows order by the moment.
    assert stored == ["2026-01-12 06:09:58.000000", "2026-02-16 16:59:59.999999", None]
    assert read == moments
    assert all(r.tzinfo is UTC for r in read if r is not None)
    assert read[1].hour == 16  # the Hanoi moment, now told in UTC


def test_comparisons_bind_the_utc_wall_time(table: tuple[sa.Engine, sa.Table]) -> None:
    engine, t = table
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"id": 1, "at": datetime(2026, 3, 2, 1, 0, tzinfo=UTC)}])
        # 07:59 in Hanoi is 00:59 UTC: before the stored 01:00 UTC.
        later = conn.execute(
            sa.select(t.c.id).where(t.c.at > datetime(2026, 3, 2, 7, 59, tzinfo=HANOI))
        ).all()
    assert later == [(1,)]


def test_text_in_other_shapes_still_reads(table: tuple[sa.Engine, sa.Table]) -> None:
    engine, t = table
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (1, '2026-03-02 01:30:00'), "
                             "(2, '2026-03-02T01:30:00.250000')"))  # fmt: skip
        read = conn.execute(sa.select(t.c.at).order_by(t.c.id)).scalars().all()
    assert read == [datetime(2026, 3, 2, 1, 30, tzinfo=UTC),
                    datetime(2026, 3, 2, 1, 30, 0, 250000, tzinfo=UTC)]  # fmt: skip


def test_naive_datetimes_are_refused(table: tuple[sa.Engine, sa.Table]) -> None:
    engine, t = table
    with (
        pytest.raises(sa.exc.StatementError, match="naive datetime refused"),
        engine.begin() as conn,
    ):
        conn.execute(t.insert(), [{"id": 1, "at": datetime(2026, 3, 2, 1, 30)}])
