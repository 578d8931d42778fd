"""Alembic environment: migrations run against the URL set by dichvucong.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import dichvucong.db.models  # noqa: F401  (registers the tables)
import dichvucong.feedback.models  # noqa: F401
import dichvucong.security.models  # noqa: F401
from dichvucong.db.engine import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
