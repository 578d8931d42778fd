"""A dossier is rated once, even when two ratings read "not rated yet" together."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dichvucong.api.problems import Conflict
from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier
from dichvucong.dossiers.rating import record_rating

CODE = "000.00.12.H19-270111-0001"


def _completed(db: Database, status: str = "COMPLETED") -> None:
    with db.session() as session:
        session.add(Dossier(code=CODE, procedure_code="ly-lich-tu-phap",
                            agency_code="000.00.12.H19", status=status,
                            submitted_at=datetime(2027, 1, 11, 2, tzinfo=UTC)))  # fmt: skip
        session.commit()


def test_the_second_of_two_concurrent_ratings_is_refused(db: Database) -> None:
    _completed(db)
    with db.session() as first, db.session() as second:
        seen_by_first, seen_by_second = first.get(Dossier, CODE), second.get(Dossier, CODE)
        assert seen_by_first is not None and seen_by_second is not None
        assert seen_by_first.rating is None and seen_by_second.rating is None
        record_rating(first, seen_by_first, "very_satisfied", "Nhanh")
        with pytest.raises(Conflict) as refused:
            record_rating(second, seen_by_second, "unsatisfied", None)
    assert refused.value.code == "already_rated"
    with db.session() as session:
        row = session.get(Dossier, CODE)
        assert row is not None and (row.rating, row.rating_comment) == ("very_satisfied", "Nhanh")


def test_only_a_completed_dossier_is_rated(db: Database) -> None:
    _completed(db, status="PROCESSING")
    with db.session() as session:
        row = session.get(Dossier, CODE)
        assert row is not None
        with pytest.raises(Conflict) as refused:
            record_rating(session, row, "satisfied", None)
    assert refused.value.code == "not_completed"
