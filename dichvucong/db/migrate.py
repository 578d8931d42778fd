"""Apply the Alembic migrations programmatically (used by `dichvucong migrate`, `dev`, tests)."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


@functools.cache
def _revisions() -> tuple[str, frozenset[str]]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None, "no migrations"
    return head, frozenset(r.revision for r in script.walk_revisions())


def schema_is_behind(revision: str | None) -> bool:
    """True when the read model's schema (its ``alembic_version``) is older than this
    code needs: none at all, or one of our revisions before the head. A revision we do
    not know is newer: during a rolling deploy the migration runs first, and the
    replicas of the previous release keep serving on the expanded schema."""
    head, known = _revisions()
    return revision is None or (revision in known and revision != head)
