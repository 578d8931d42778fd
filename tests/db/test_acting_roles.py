"""``Dossier.acting_roles``, the inbox's filter: derived from ``state["allowed_actions"]``
by every writer, and filled in for existing rows by migration 0006."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from dichvucong.db.engine import Database, make_engine
from dichvucong.db.migrate import upgrade
from dichvucong.db.models import Dossier, acting_roles
from dichvucong.dossiers.inbox import open_work

AGENCY = "000.00.12.H19"
T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def test_roles_with_actions_only_sorted_between_bars() -> None:
    state = {"allowed_actions": {"specialist": ["approve"], "citizen": [], "reception": ["x"]}}
    assert acting_roles(state) == "|reception|specialist|"
    assert acting_roles({"allowed_actions": {"citizen": []}}) == ""
    assert acting_roles({"fee_lines": []}) == ""
    assert acting_roles(None) == ""


def _add_open(db: Database, status: str, allowed: dict[str, list[str]]) -> None:
    """Dossier "d1" of AGENCY, written through the ORM."""
    with db.session() as session:
        session.add(Dossier(code="d1", procedure_code="p", agency_code=AGENCY, submitted_at=T0,
                            status=status, state={"allowed_actions": allowed}))  # fmt: skip
        session.commit()


def test_orm_writes_keep_the_column_true_to_the_state(db: Database) -> None:
    _add_open(db, "SUBMITTED", {"reception": ["accept"]})
    with db.session() as session:
        assert [w.code for w in open_work(session, AGENCY, ["reception"])] == ["d1"]
        row = session.get(Dossier, "d1")
        assert row is not None and row.acting_roles == "|reception|"
        row.state = {"allowed_actions": {"reception": [], "specialist": ["approve"]}}
        session.commit()
    with db.session() as session:
        assert open_work(session, AGENCY, ["reception"]) == []
        assert [w.code for w in open_work(session, AGENCY, ["specialist"])] == ["d1"]


def test_a_role_is_matched_whole_not_as_a_prefix_or_a_pattern(db: Database) -> None:
    _add_open(db, "PROCESSING", {"lanh_dao_so": ["approve"]})
    with db.session() as session:
        assert open_work(session, AGENCY, ["lanh_dao"]) == []
        assert open_work(session, AGENCY, ["lanh%"]) == []
        assert [w.code for w in open_work(session, AGENCY, ["lanh_dao_so"])] == ["d1"]


def test_migration_0006_fills_the_column_for_existing_rows(tmp_path: Path) -> None:
    check_migration_0006(f"sqlite:///{tmp_path / 'old.db'}")


def check_migration_0006(url: str) -> None:
    """Rows written before 0006, on an empty database at ``url``, get their roles."""
    upgrade(url, "0005")
    engine = make_engine(url)
    states = {
        "open": {"allowed_actions": {"reception": ["accept"], "citizen": ["withdraw"]}},
        "citizen-turn": {"allowed_actions": {"citizen": ["supplement"], "reception": []}},
        "closed": {"allowed_actions": {}, "fee_lines": [{"amount": 1}]},
        "api-only": {"fee_lines": []},
    }
    with engine.begin() as conn:
        # The table as 0005 left it (no acting_roles), rows as the models make them.
        old = sa.Table("dossier", sa.MetaData(), autoload_with=conn)
        for code, state in states.items():
            row = Dossier(code=code, procedure_code="p", agency_code=AGENCY, submitted_at=T0,
                          state=state)  # fmt: skip
            values = {c.name: getattr(row, c.name) for c in Dossier.__table__.columns}  # type: ignore[attr-defined]
            conn.execute(sa.insert(old), {k: v for k, v in values.items() if k in old.c})
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        got = dict(conn.execute(sa.text("SELECT code, acting_roles FROM dossier")).all())
    engine.dispose()
    assert got == {"open": "|citizen|reception|", "citizen-turn": "|citizen|",
                   "closed": "", "api-only": ""}  # fmt: skip
