"""The read model on a real PostgreSQL 15: a throwaway cluster per test session.

Without the server binaries these tests skip with the reason, except in CI
(``CI`` set): there a missing PostgreSQL is a failure, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.pg.cluster import PostgresCluster, PostgresUnavailable, start_cluster


def require_postgres() -> None:
    """Skip (or fail in CI) when there is no PostgreSQL server to start."""
    from tests.pg.cluster import find_bindir

    if find_bindir() is None:
        reason = "PostgreSQL server binaries not found (pg_config --bindir / initdb)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    require_postgres()
    try:
        cluster = start_cluster()
    except PostgresUnavailable as exc:  # pragma: no cover - raced with require_postgres
        pytest.skip(str(exc))
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def pg_url(pg_cluster: PostgresCluster) -> str:
    """A fresh, empty database on the session's cluster."""
    return pg_cluster.create_database()
