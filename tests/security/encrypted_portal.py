"""The portal of tests/api/portal.py, but the API and the worker talk to the
time-skipping server through a client with the payload codec — as in production.
``Portal.env.client`` stays the plain client: what anyone reading the server sees."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from dichvucong.app import create_app
from dichvucong.calendar import WorkCalendar
from dichvucong.db.engine import Database
from dichvucong.security.codec import data_converter
from dichvucong.seed import seed
from dichvucong.settings import Settings
from tests.api.portal import Portal
from tests.workflows.harness import (
    Harness,
    OutsideWorld,
    register_search_attributes,
    time_skipping_server_path,
)

UI_ORIGIN = "http://ui.portal.test:8233"


@dataclass
class CodecHarness(Harness):
    codec_client: Client | None = None

    @property
    def client(self) -> Client:  # the worker polls through the codec
        assert self.codec_client is not None
        return self.codec_client


@dataclass
class EncryptedPortal(Portal):
    codec_client: Client | None = None


@asynccontextmanager
async def encrypted_portal(tmp_path: Path, **overrides: object) -> AsyncIterator[EncryptedPortal]:
    settings = Settings(
        var_dir=tmp_path,
        environment="test",
        secret_key="test-secret-0123456789",
        public_base_url="http://portal.test",
        temporal_ui_public_url=UI_ORIGIN,
        task_queue=f"tq-{uuid.uuid4()}",
        **overrides,  # type: ignore[arg-type]
    )
    seed(settings)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server_path()
    )
    db = Database(settings.resolved_database_url)
    try:
        await register_search_attributes(env.client)
        config = env.client.config()
        config["data_converter"] = data_converter(settings)
        codec_client = Client(**config)
        world = OutsideWorld()
        harness = CodecHarness(
            env=env,
            db=db,
            world=world,
            task_queue=settings.task_queue,
            calendar=WorkCalendar(),
            codec_client=codec_client,
        )
        app = create_app(settings, temporal=codec_client)
        transport = httpx.ASGITransport(app=app)
        async with (
            harness.worker(),
            httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http,
        ):
            yield EncryptedPortal(
                http=http,
                app=app,
                settings=settings,
                db=db,
                env=env,
                world=world,
                codec_client=codec_client,
            )
    finally:
        await env.shutdown()
        db.dispose()
