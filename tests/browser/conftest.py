"""A live portal for browser tests: the app served by uvicorn on a loopback port
(an asyncio task in the test's loop), a time-skipping Temporal server with the
worker, and a real Chromium driven by Playwright.

Chromium is Debian's ``chromium`` (``.ci/run`` installs it). Without it the
browser tests are skipped locally, and fail in CI (``CI`` set).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from temporalio.testing import WorkflowEnvironment

from dichvucong.app import create_app
from dichvucong.calendar import WorkCalendar
from dichvucong.db.engine import Database
from dichvucong.seed import seed
from dichvucong.settings import Settings
from tests.conftest import free_port
from tests.workflows.harness import (
    Harness,
    OutsideWorld,
    register_search_attributes,
    time_skipping_server_path,
)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str:
    """Debian's chromium, or skip (locally) / fail (in CI) with the reason."""
    path = shutil.which("chromium")
    if path is None:
        reason = "Debian `chromium` is not installed (apt-get install chromium; .ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(f"browser tests need Chromium in CI: {reason}")
        pytest.skip(reason)
    return path


@asynccontextmanager
async def serving(app: Any, port: int) -> AsyncIterator[None]:
    """``app`` under uvicorn on a loopback port, as a task of the test's own loop."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started or task.done():
                break
            await asyncio.sleep(0.05)  # starting up, not waiting for time to pass
        if not server.started:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        yield
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, timeout=10)
        except TimeoutError:
            task.cancel()


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (a ``Browser``)."""
    executable = chromium_path()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class LivePortal:
    base_url: str
    settings: Settings
    db: Database
    env: WorkflowEnvironment
    world: OutsideWorld
    browser: Any  # playwright.async_api.Browser

    def url(self, path: str) -> str:
        return self.base_url + path


@asynccontextmanager
async def live_portal(tmp_path: Path) -> AsyncIterator[LivePortal]:
    chromium_path()  # skip (or fail in CI) before starting anything
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        var_dir=tmp_path,
        environment="test",
        secret_key="test-secret-0123456789",
        public_base_url=base_url,
        task_queue=f"tq-{uuid.uuid4()}",
    )
    seed(settings)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server_path()
    )
    db = Database(settings.resolved_database_url)
    try:
        await register_search_attributes(env.client)
        world = OutsideWorld()
        harness = Harness(
            env=env,
            db=db,
            world=world,
            task_queue=settings.task_queue,
            calendar=WorkCalendar(),
        )
        app = create_app(settings, temporal=env.client)
        async with serving(app, port), harness.worker(), chromium() as browser:
            yield LivePortal(
                base_url=base_url,
                settings=settings,
                db=db,
                env=env,
                world=world,
                browser=browser,
            )
    finally:
        await env.shutdown()
        db.dispose()


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LivePortal]:
    async with live_portal(tmp_path) as portal:
        yield portal
