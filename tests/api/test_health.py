"""/healthz and /readyz: what docker-compose (and any orchestrator) asks an API replica."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from sqlalchemy import text

from dichvucong.app import create_app
from dichvucong.seed import seed
from dichvucong.settings import Settings
from tests.api.portal import portal
from tests.conftest import free_port


async def test_ready_when_the_read_model_the_documents_and_temporal_answer(
    tmp_path: Path,
) -> None:
    async with portal(tmp_path) as p:
        live = await p.http.get("/healthz")
        assert live.status_code == 200 and live.json() == {"status": "ok"}
        ready = await p.http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "status": "ready",
            "checks": {"database": "ok", "documents": "ok", "temporal": "ok"},
        }
        assert ready.headers["cache-control"] == "no-store"
        # Probes are for the orchestrator, not API clients.
        assert "/readyz" not in (await p.http.get("/openapi.json")).json()["paths"]


async def test_not_ready_says_which_dependency_is_down_and_stays_alive(tmp_path: Path) -> None:
    blocker = tmp_path / "documents"
    blocker.write_text("a file where the document store's folder should be")
    settings = Settings(
        var_dir=tmp_path,
        environment="test",
        secret_key="test-secret-0123456789",
        # Nothing listens on either port.
        temporal_address=f"127.0.0.1:{free_port()}",
        database_url=f"postgresql+psycopg://dvc:secret@127.0.0.1:{free_port()}/dichvucong",
        documents_dir=blocker,
    )
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://portal.test"
    ) as http:
        began = time.monotonic()
        ready = await http.get("/readyz")
        took = time.monotonic() - began
        live = await http.get("/healthz")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.headers["retry-after"] == "5"
    body = ready.json()
    assert body["code"] == "not_ready"
    assert body["detail"] == "Hệ thống chưa sẵn sàng phục vụ; vui lòng thử lại sau ít phút."
    assert body["checks"]["database"] == "unavailable"
    assert body["checks"]["documents"] == "unavailable"
    assert body["checks"]["temporal"] in ("unavailable", "timeout")
    assert "secret" not in ready.text and "refused" not in ready.text  # reasons: the log
    assert took < 10  # each check is bounded (3 s), and they run side by side
    # Liveness does not depend on them: restarting the replica would not help.
    assert live.status_code == 200


async def test_not_ready_until_the_read_model_is_migrated(tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path,
        environment="test",
        secret_key="test-secret-0123456789",
        database_url=f"sqlite:///{tmp_path / 'read-model.db'}",  # created empty
    )
    async with portal(tmp_path / "temporal") as p:
        app = create_app(settings, temporal=p.env.client)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://portal.test"
        ) as http:
            down = await http.get("/readyz")
            assert down.json()["checks"] == {
                "database": "not_migrated", "documents": "ok", "temporal": "ok"
            }  # fmt: skip
            seed(settings)  # migrates, then loads the catalog
            assert (await http.get("/readyz")).status_code == 200
            # A schema one migration behind this code is not ready; one ahead of it (the
            # next release migrated first, in a rolling deploy) still is.
            for revision, outcome in (("0004", "not_migrated"), ("0099_next", "ok")):
                with app.state.db.engine.begin() as connection:
                    connection.execute(
                        text("UPDATE alembic_version SET version_num = :r"), {"r": revision}
                    )
                checks = (await http.get("/readyz")).json()["checks"]
                assert checks["database"] == outcome, revision
