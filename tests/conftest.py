"""Shared fixtures. Markers (`devserver`, `browser`) are registered in pyproject.toml."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from dichvucong.db.engine import Database

REPO_ROOT = Path(__file__).resolve().parent.parent

# `make test` installs the package (pip install -e); a bare `pytest` in a fresh
# checkout still finds it.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

_handed_out: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (bind to port 0), never the same one twice
    in a session, and never one of the defaults (7233, 8233, 8000)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port not in _handed_out and port not in (7233, 8233, 8000):
            _handed_out.add(port)
            return port


@pytest.fixture(name="free_port")
def free_port_fixture() -> Callable[..., int]:
    """``port = free_port()`` inside a test."""
    return free_port


def _subprocess_env(**overrides: str) -> dict[str, str]:
    """The environment for `python -m dichvucong.cli ...` in a test: the repo importable,
    no DVC_* leaking in from the developer's shell, output unbuffered."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVC_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


@pytest.fixture(name="subprocess_env")
def subprocess_env_fixture() -> Callable[..., dict[str, str]]:
    """``env = subprocess_env(DVC_HTTP_PORT="...")`` inside a test."""
    return _subprocess_env


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite read model of the test's own."""
    from dichvucong.db.engine import Database
    from dichvucong.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'read.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()
