"""Drill: the web app is killed (``kill -9``) in the middle of a submission,
between storing the uploads and starting the workflow → no half-created dossier,
and the stored files are swept (``dichvucong.documents.store.sweep``)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from dichvucong.catalog import load_catalog
from dichvucong.db.engine import Database
from dichvucong.db.models import CitizenDocument, Dossier, DossierDocument, StoredDocument
from dichvucong.documents.store import build_document_store, sweep
from dichvucong.dossiers.submission import reconcile_unstarted
from dichvucong.seed import seed
from dichvucong.settings import Settings
from tests.api.portal import LLTP_FORM, PASSWORD, STP
from tests.conftest import _subprocess_env, free_port
from tests.workflows.harness import register_search_attributes, time_skipping_server_path

pytestmark = pytest.mark.devserver

SCRIPT = Path(__file__).with_name("api_until_killed.py")
PDF = b"%PDF-1.4\n" + b"0" * 200_000 + b"\n%%EOF\n"


def _submit_until_killed(tmp_path: Path, point: str) -> Settings:
    settings = Settings(var_dir=tmp_path, environment="test", secret_key="drill-0123456789abcdef")
    seed(settings)
    port = free_port()
    env = _subprocess_env(
        DVC_VAR_DIR=str(tmp_path),
        DVC_ENVIRONMENT="test",
        DVC_SECRET_KEY=settings.secret_key,
        DVC_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
    )
    log = (tmp_path / "api.log").open("wb")
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(port), point], env=env,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=20) as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    http.get("/api/v1/procedures")
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, (tmp_path / "api.log").read_text()
                    assert time.monotonic() < deadline, "the app did not start"
                    time.sleep(0.2)
            registered = http.post("/api/v1/accounts", json={
                "full_name": "Nguyễn Văn An", "id_number": "075203001234",
                "date_of_birth": "2003-05-17", "phone": "0912345678", "email": None,
                "address": "12 Võ Thị Sáu, Biên Hòa", "password": PASSWORD})  # fmt: skip
            assert registered.status_code == 201, registered.text
            token = http.post(
                "/api/v1/auth/token", data={"username": "075203001234", "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            import json

            with pytest.raises(httpx.TransportError):  # the process died mid-request
                http.post(
                    "/api/v1/dossiers",
                    data={"procedure_code": "ly-lich-tu-phap", "agency_code": STP,
                          "delivery": "online", "form": json.dumps(LLTP_FORM)},
                    files=[("giay_to_tuy_than", ("cccd.pdf", PDF, "application/pdf"))],
                    headers=headers,
                )  # fmt: skip
        proc.wait(10)
        assert proc.returncode == -9
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
    return settings


def _assert_nothing_left(settings: Settings) -> None:
    db = Database(settings.resolved_database_url)
    store = build_document_store(settings)
    try:
        assert len(list(store.list_all())) == 1  # the upload reached the store
        swept = sweep(db, store, older_than=timedelta(0))
        assert len(swept) == 1
        assert list(store.list_all()) == []
        with db.session() as session:
            assert session.exec(select(Dossier)).all() == []
            assert session.exec(select(DossierDocument)).all() == []
            assert session.exec(select(CitizenDocument)).all() == []
            assert session.exec(select(StoredDocument)).all() == []
    finally:
        db.dispose()


def test_killed_after_storing_uploads(tmp_path: Path) -> None:
    _assert_nothing_left(_submit_until_killed(tmp_path, "after_uploads"))


async def test_killed_after_the_dossier_row_the_submission_is_completed(tmp_path: Path) -> None:
    """The row was committed, the workflow never started: the reconciler (run by the
    sweep schedule) starts it, so the citizen's dossier is whole, not half-created."""
    settings = _submit_until_killed(tmp_path, "before_workflow")
    db = Database(settings.resolved_database_url)
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=time_skipping_server_path())
    try:
        await register_search_attributes(env.client)
        with db.session() as session:
            [row] = session.exec(select(Dossier)).all()
            assert row.last_seq == -1
            assert [d.slot for d in session.exec(select(DossierDocument)).all()] == [
                "giay_to_tuy_than"]
        started = await reconcile_unstarted(client=env.client, settings=settings,
                                            catalog=load_catalog(), db=db,
                                            older_than=timedelta(0))
        assert started == [row.code]
        again = await reconcile_unstarted(client=env.client, settings=settings,
                                          catalog=load_catalog(), db=db, older_than=timedelta(0))
        assert again == []  # already running: nothing started twice
        described = await env.client.get_workflow_handle(row.code).describe()
        assert described.workflow_type == "DossierWorkflow"
        store = build_document_store(settings)
        assert sweep(db, store, older_than=timedelta(0)) == []  # the upload is referenced
    finally:
        await env.shutdown()
        db.dispose()
