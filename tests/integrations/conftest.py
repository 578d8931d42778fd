from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integrations.portal import Portal


@pytest.fixture
def portal(tmp_path: Path, free_port: Callable[..., int]) -> Iterator[Portal]:
    running = Portal(tmp_path, free_port()).start()
    try:
        yield running
    finally:
        running.stop()
