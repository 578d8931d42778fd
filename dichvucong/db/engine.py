"""Engine and session factory for the read model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

# A failed statement's text goes to the logs with the error; its bound values would
# carry personal data (a CCCD looked up, a name, a form's answers).
HIDE_PARAMETERS = True


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=HIDE_PARAMETERS,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # WAL lets the API read while the worker writes; the busy timeout
            # absorbs the short write locks of concurrent transitions.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return sa.create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=HIDE_PARAMETERS
    )


class Database:
    """Holds one engine; hands out sessions. Passed to activities and the app."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # PostgreSQL's READ COMMITTED gives each statement a snapshot of its own, inside a
        # transaction or not: a read gains nothing from BEGIN and ROLLBACK around it, two
        # round trips to the server of every request's four (ping, BEGIN, query,
        # ROLLBACK). On SQLite reads run that way already (the sqlite3 driver begins a
        # transaction only before a write).
        self._read_engine = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.engine.dialect.name == "postgresql"
            else self.engine
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session that only reads (on PostgreSQL without a transaction around its
        statements: anything it wrote would be committed at once, so write nothing)."""
        with Session(self._read_engine, expire_on_commit=False) as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
