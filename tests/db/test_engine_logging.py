"""A failed statement's error (logged with its traceback) does not carry the values
bound to it: they may be a citizen's CCCD or name."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from dichvucong.db.engine import Database


def test_bound_values_stay_out_of_database_errors(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(sa.exc.OperationalError) as failed, db.engine.connect() as conn:
        conn.execute(sa.text("SELECT * FROM no_such_table WHERE cccd = :q"), {"q": "075203001234"})
    assert "no_such_table" in str(failed.value)
    assert "075203001234" not in str(failed.value)
