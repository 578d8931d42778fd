"""The feedback on-time rate counts only feedback whose outcome is known.

The agency answers within 3 working days (DOMAIN.md). Feedback received yesterday
and due next week has not failed that rule: it must not drag the rate down.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from dichvucong.calendar import VN_TZ
from dichvucong.db.engine import Database
from dichvucong.db.migrate import upgrade
from dichvucong.feedback.models import Feedback, FeedbackStatus
from dichvucong.stats import compute_statistics, quarter_period

AGENCY = "000.00.21.H19"
NOW = datetime(2026, 12, 4, 10, 0, tzinfo=VN_TZ)  # Friday
Q4 = quarter_period(2026, 4)


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def feedback(code: str, received: datetime, due: datetime, answered: datetime | None) -> Feedback:
    return Feedback(
        code=code,
        agency_code=AGENCY,
        kind="question",
        subject="Hỏi thủ tục",
        body="Nội dung",
        received_at=received,
        due_at=due,
        answered_at=answered,
        status=FeedbackStatus.ANSWERED if answered else FeedbackStatus.RECEIVED,
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'fb.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def add(db: Database, *rows: Feedback) -> None:
    with db.session() as session:
        session.add_all(rows)
        session.commit()


def test_feedback_within_its_deadline_is_not_a_failure(db: Database) -> None:
    add(db, feedback("F1", vn(2026, 12, 3, 9), vn(2026, 12, 8, 9), None))
    ind = compute_statistics(db, Q4, now=NOW).by_agency[AGENCY]
    assert (ind.feedback_received, ind.feedback_answered, ind.feedback_overdue) == (1, 0, 0)
    assert ind.feedback_not_yet_due == 1
    assert ind.feedback_on_time_rate is None  # nothing decided yet, not 0 %


def test_rate_over_answered_and_overdue_only(db: Database) -> None:
    add(
        db,
        feedback("ON-TIME", vn(2026, 11, 2, 9), vn(2026, 11, 5, 9), vn(2026, 11, 4, 9)),
        feedback("LATE", vn(2026, 11, 2, 9), vn(2026, 11, 5, 9), vn(2026, 11, 6, 9)),
        feedback("OVERDUE", vn(2026, 11, 23, 9), vn(2026, 11, 26, 9), None),
        feedback("NOT-DUE", vn(2026, 12, 3, 9), vn(2026, 12, 8, 9), None),
    )
    ind = compute_statistics(db, Q4, now=NOW).by_agency[AGENCY]
    assert (ind.feedback_received, ind.feedback_answered) == (4, 2)
    assert (ind.feedback_answered_on_time, ind.feedback_overdue) == (1, 1)
    assert ind.feedback_not_yet_due == 1
    assert ind.feedback_on_time_rate == pytest.approx(1 / 3)
