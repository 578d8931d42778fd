"""The catalog's data copied for a test to import into."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dichvucong.catalog.loader import DEFAULT_DATA_DIR


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target
