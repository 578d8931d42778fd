"""Migration 0002 creates exactly the table dichvucong.feedback.models describes."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from dichvucong.db.migrate import alembic_config, upgrade
from dichvucong.db.types import AwareDateTime
from dichvucong.feedback.models import Feedback


def _type_name(t: sa.types.TypeEngine) -> str:
    if isinstance(t, sa.Boolean):
        return "bool"
    if isinstance(t, sa.Integer):
        return "int"
    if isinstance(t, sa.DateTime | AwareDateTime):
        return "datetime"
    return "str"


def test_migrated_table_matches_the_model(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    migrated = {c["name"]: c for c in inspector.get_columns("feedback")}
    model = Feedback.__table__  # type: ignore[attr-defined]
    assert set(migrated) == {c.name for c in model.columns}
    for column in model.columns:
        got = migrated[column.name]
        assert got["nullable"] == column.nullable, column.name
        assert _type_name(got["type"]) == _type_name(column.type), column.name
        length = getattr(column.type, "length", None)
        if length:
            assert getattr(got["type"], "length", None) == length, column.name
    indexes = {
        i["name"]: (tuple(i["column_names"]), bool(i["unique"]))
        for i in inspector.get_indexes("feedback")
    }
    expected = {i.name: (tuple(c.name for c in i.columns), bool(i.unique)) for i in model.indexes}
    assert indexes == expected
    assert inspector.get_pk_constraint("feedback")["constrained_columns"] == ["id"]
    engine.dispose()


def test_downgrade_removes_the_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "0001")
    engine = sa.create_engine(url)
    assert "feedback" not in sa.inspect(engine).get_table_names()
    assert "dossier" in sa.inspect(engine).get_table_names()
    engine.dispose()
