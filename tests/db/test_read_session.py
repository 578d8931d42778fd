"""``Database.read_session`` on SQLite reads as on PostgreSQL (tests/pg): each statement
sees what was committed before it, no transaction held around the reads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from dichvucong.db.engine import Database
from dichvucong.db.migrate import upgrade
from dichvucong.db.models import Dossier

AGENCY = "000.00.12.H19"


def _add(db: Database, code: str) -> None:
    with db.session() as writer:
        writer.add(Dossier(code=code, procedure_code="LLTP-01", agency_code=AGENCY,
                           submitted_at=datetime(2026, 3, 2, tzinfo=UTC)))  # fmt: skip
        writer.commit()


def test_each_read_sees_what_was_committed_before_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rm.db'}"
    upgrade(url)
    db = Database(url)
    try:
        _add(db, f"{AGENCY}-RS-1")
        count = sa.select(sa.func.count()).select_from(Dossier)
        with db.read_session() as reader:
            assert reader.execute(count).scalar_one() == 1
            _add(db, f"{AGENCY}-RS-2")
            assert reader.execute(count).scalar_one() == 2
            assert not reader.connection().connection.dbapi_connection.in_transaction
    finally:
        db.dispose()
