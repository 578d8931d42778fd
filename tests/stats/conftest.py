"""The supervision API and pages over the hand-counted read model, as the province's
supervisor sees them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dichvucong.api.deps import optional_principal
from tests.stats.known_data import make_db
from tests.stats.test_supervision_api import PROVINCE_SUPERVISOR, supervision_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    db = make_db(tmp_path)
    app = supervision_app(tmp_path, db)
    app.dependency_overrides[optional_principal] = lambda: PROVINCE_SUPERVISOR
    yield TestClient(app)
    db.dispose()
