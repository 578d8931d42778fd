"""``python -m bench [--quick]`` (``make bench``): every figure of the issue in one run,
each next to its target, on one Temporal dev server; writes ``bench-results.json``.

1. submissions/s through the HTTP API vs bare ``start_workflow``/s   (target ≥ 0.5)
2. complete cases/s through the API vs a bare workflow with the same
   number of activities, updates and signals                           (target ≥ 0.7)
3. lookup and inbox p50/p99 at a fixed 200 req/s, 100,000 dossiers,
   SQLite and PostgreSQL                                               (target p99 ≤ 50 ms)
4. worker and API resident memory with 10,000 open cases             (target ≤ 300 MB)
5. the quarterly/yearly report over 1,000,000 dossiers                (no target: reported)

A benchmark, not a test: it never fails the build; it prints pass/fail per figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvloop

from bench.loadgen import LeanClient

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PASSWORD = "mat-khau-bench-2026"
STP = "000.00.12.H19"
FORM = {
    "ho_ten": "Nguyễn Văn An", "gioi_tinh": "nam", "ngay_sinh": "2003-05-17",
    "noi_sinh": "Biên Hòa, Đồng Nai", "quoc_tich": "Việt Nam", "so_dinh_danh": "075203001234",
    "noi_thuong_tru": "12 Võ Thị Sáu, Biên Hòa", "so_dien_thoai": "0912345678",
    "loai_phieu": "1", "muc_dich": "Xin việc", "so_ban": 2, "doi_tuong_phi": "khong",
    "cam_doan": True,
}  # fmt: skip


@dataclass
class Sizes:
    submissions: int
    bare_starts: int
    cases: int
    latency_rows: int
    latency_seconds: float
    open_cases: int
    report_rows: int


FULL = Sizes(400, 800, 96, 100_000, 15, 10_000, 1_000_000)
QUICK = Sizes(100, 200, 16, 20_000, 5, 1_000, 100_000)


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    target: str
    passed: bool | None
    detail: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ progress


class Progress:
    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()

    def step(self, label: str, fraction: float = 0.0) -> None:
        width = 30
        filled = int(width * min(1.0, (self.done + fraction) / self.total))
        elapsed = time.monotonic() - self.started
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {elapsed:5.0f}s {label[:60]:<60}"
        sys.stderr.write(line)
        sys.stderr.flush()

    def advance(self, label: str) -> None:
        self.done += 1
        self.step(label)


# ------------------------------------------------------------------ processes


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVC_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, env=env, cwd=str(REPO), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM to the process's group (``api --workers N`` has children), then SIGKILL
    to what is left of it: a worker process stuck in a request must not outlive the run
    (it did once, waiting on a database the bench had already removed)."""
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def _rss_mb(proc: subprocess.Popen[bytes]) -> float:
    import psutil

    p = psutil.Process(proc.pid)
    return sum(x.memory_info().rss for x in [p, *p.children(recursive=True)]) / 2**20


async def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while True:
            try:
                await http.get(url)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not answer") from None
                await asyncio.sleep(0.2)


class CpuMeter:
    """CPU seconds (user + system, children included) each process of the stack spends
    between two readings: where a figure's time goes, next to its rate."""

    def __init__(self, procs: dict[str, int], alone: frozenset[str] = frozenset()) -> None:
        import psutil

        self._procs = {name: psutil.Process(pid) for name, pid in procs.items()}
        self._alone = alone  # without its children (the bench spawned the others)
        self._start = self._read()

    def _read(self) -> dict[str, float]:
        out = {}
        for name, p in self._procs.items():
            total = 0.0
            for q in [p] if name in self._alone else [p, *p.children(recursive=True)]:
                t = q.cpu_times()
                total += t.user + t.system
            out[name] = total
        return out

    def seconds(self) -> dict[str, float]:
        now = self._read()
        return {name: round(now[name] - self._start[name], 2) for name in now}


class BoxMeter:
    """What the shared host kept from this machine between two readings: the steal time
    of /proc/stat (a vCPU ready to run while the hypervisor ran another tenant) and the
    idle time, as shares of all CPU time. A figure that misses its target in a window
    with much steal says more about the host than about the code."""

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> list[int] | None:
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                fields = stat.readline().split()
        except OSError:
            return None
        return [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal

    def delta(self) -> list[int]:
        now = self._read()
        if now is None or self._start is None:
            return []
        return [b - a for a, b in zip(self._start, now, strict=True)]

    @staticmethod
    def shares(delta: list[int]) -> dict[str, float] | None:
        if not delta or not sum(delta):
            return None
        total = sum(delta)
        return {"steal": round(delta[7] / total, 3), "idle": round((delta[3] + delta[4]) / total, 3)}


class LoopLag:
    """How late the load generator's own event loop wakes up (a 1 ms sleep, measured
    over and over): a latency measured while it lagged includes the lag."""

    def __init__(self) -> None:
        self._lags: list[float] = []
        self._task = asyncio.get_running_loop().create_task(self._probe())

    async def _probe(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            self._lags.append((time.perf_counter() - t - 0.001) * 1000)

    def stop(self) -> dict[str, float]:
        self._task.cancel()
        lags = self._lags or [0.0]
        return {"p99": round(_pct(lags, 0.99), 1), "max": round(max(lags), 1)}


def _add(total: list[int], delta: list[int]) -> list[int]:
    return [a + b for a, b in zip(total, delta, strict=True)] if total else list(delta)


def _free_port() -> int:
    from tests.conftest import free_port

    return free_port()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ------------------------------------------------------------------ the stack


class Stack:
    """Dev server, read model, API and worker subprocesses, SMTP; the bare worker in-process."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.api: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    async def start(self, database_url: str | None = None) -> None:
        from dichvucong.seed import seed
        from dichvucong.settings import Settings
        from dichvucong.simulators.mail import MailStore, start_dev_smtp
        from tests.drills.support import DevServer

        self.server = DevServer(self.root / "temporal.db", self.root / "temporal.log")
        await self.server.start()
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.smtp = start_dev_smtp("127.0.0.1", _free_port(), MailStore(keep=100))
        self.queue = "dossiers"
        self.settings = Settings(
            var_dir=self.root, database_url=database_url, environment="test",
            secret_key="bench-secret-0123456789", public_base_url=self.base,
            temporal_address=self.server.address, task_queue=self.queue,
            smtp_port=self.smtp.port,
        )  # fmt: skip
        seed(self.settings)
        from dichvucong.temporal_client import connect

        self.client = await connect(self.settings)  # the project's data converter (codec)
        self.env = _env(
            DVC_RATE_LIMIT_ENABLED="false", DVC_NATIONAL_SYNC_ENABLED="false",
            DVC_VAR_DIR=str(self.root), DVC_ENVIRONMENT="test",
            DVC_DATABASE_URL=self.settings.resolved_database_url,
            DVC_SECRET_KEY=self.settings.secret_key, DVC_PUBLIC_BASE_URL=self.base,
            DVC_TEMPORAL_ADDRESS=self.server.address, DVC_TASK_QUEUE=self.queue,
            DVC_SMTP_PORT=str(self.smtp.port), DVC_HTTP_PORT=str(self.port),
        )  # fmt: skip
        py = sys.executable
        self.api = _spawn([py, "-m", "dichvucong.cli", "api", "--port", str(self.port)],
                          self.env, self.root / "api.log")  # fmt: skip
        self.worker = _spawn([py, "-m", "dichvucong.cli", "worker"], self.env,
                             self.root / "worker.log")  # fmt: skip
        await _wait_http(f"{self.base}/api/v1/procedures")

    def cpu_meter(self) -> CpuMeter:
        """The dev server, the API, the worker, and this process (load generator + the
        bare worker)."""
        assert self.server.proc and self.api and self.worker
        return CpuMeter({"temporal": self.server.proc.pid, "api": self.api.pid,
                         "worker": self.worker.pid, "bench": os.getpid()},
                        alone=frozenset({"bench"}))  # fmt: skip

    async def settle(self, timeout: float = 300) -> float:
        """Waits until the previous figure's work has drained (its workflows' first
        tasks run after their starts were acknowledged): less than 0.1 CPU-s a second in
        all processes. Returns the seconds waited."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            meter = self.cpu_meter()
            await asyncio.sleep(1)
            if sum(meter.seconds().values()) < 0.1:
                break
        return round(time.monotonic() - t0, 1)

    async def stop(self) -> None:
        _stop(self.api)
        _stop(self.worker)
        self.smtp.stop()
        self.server.stop()


async def _citizens(http: httpx.AsyncClient, count: int) -> list[dict[str, str]]:
    async def one(i: int) -> dict[str, str]:
        id_number = f"075090{i:06d}"  # province 075, male born 1990
        answer = await http.post("/api/v1/accounts", json={
            "full_name": "Nguyễn Văn An", "id_number": id_number, "date_of_birth": "1990-01-01",
            "phone": f"09{10000000 + i:08d}", "email": None, "address": "Biên Hòa",
            "password": PASSWORD})  # fmt: skip
        assert answer.status_code in (201, 409), answer.text
        token = await http.post(
            "/api/v1/auth/token", data={"username": id_number, "password": PASSWORD}
        )
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def _officials(stack: Stack, http: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    from dichvucong.accounts.officials import create_official
    from dichvucong.db.engine import Database

    db = Database(stack.settings.resolved_database_url)
    roles = {"reception": "tiepnhan", "specialist": "chuyenvien", "leader": "lanhdao",
             "issuer": "vanthu"}  # fmt: skip
    with db.session() as session:
        for role, user in roles.items():
            create_official(session=session, username=f"bench.{user}", password=PASSWORD,
                            agency_code=STP, roles=[role], update_existing=True)  # fmt: skip
    db.dispose()
    heads = {}
    for role, user in roles.items():
        token = await http.post(
            "/api/v1/auth/token", data={"username": f"bench.{user}", "password": PASSWORD}
        )
        heads[role] = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return heads


def _pdf(i: int, size: int = 200 * 1024) -> bytes:
    head = f"%PDF-1.4\n% bench {i} {uuid.uuid4()}\n".encode()
    return head + b"0" * (size - len(head) - 7) + b"\n%%EOF\n"


async def _submit(http: LeanClient, headers: dict[str, str], i: int) -> str:
    answer = await http.post(
        "/api/v1/dossiers",
        data={"procedure_code": "ly-lich-tu-phap", "agency_code": STP, "delivery": "online",
              "form": json.dumps(FORM)},
        files=[("giay_to_tuy_than", ("cccd.pdf", _pdf(i), "application/pdf"))],
        headers={**headers, "Idempotency-Key": f"bench-{i}-{uuid.uuid4().hex[:8]}"},
    )  # fmt: skip
    assert answer.status_code in (200, 201, 202), answer.text
    return str(answer.json()["dossier_code"])


async def _pool(limit: int, jobs: list[Any]) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return list(await asyncio.gather(*(one(j) for j in jobs)))


# ------------------------------------------------------------------ bare engine

BARE_QUEUE = "bench-bare"
# The 16 concurrent cases (the first run used 8: the API deadlocked at 16 while
# async routes held pooled DB sessions across the Temporal update; fixed since).
CASE_CONCURRENCY = 16
# Figure 2 alternates blocks of this many cases of ours and bare ones.
CASES_PER_BLOCK = 32
# How often the specialist looks whether a paid case has reached them (the gateway's
# callback becomes a signal after the redirect; the read model follows the workflow).
POLL_SECONDS = 0.1


def _bare_definitions() -> tuple[type, Any]:
    from bench.bare import BareCase, noop

    return BareCase, noop


# ------------------------------------------------------------------ figures


async def figure_submissions(
    stack: Stack, sizes: Sizes, progress: Progress, bare: type
) -> tuple[Figure, list[dict[str, str]]]:
    async with httpx.AsyncClient(base_url=stack.base, timeout=120) as setup:
        citizens = await _citizens(setup, 32)
    http = LeanClient(stack.base, timeout=120)
    try:
        await _submit(http, citizens[0], -1)  # warm up
        done = 0

        async def one(i: int) -> str:
            nonlocal done
            code = await _submit(http, citizens[i % 32], i)
            done += 1
            if done % 10 == 0:
                progress.step(
                    f"1/5 API submissions {done}/{sizes.submissions}",
                    0.5 * done / sizes.submissions,
                )
            return code

        t0 = time.perf_counter()
        await _pool(32, [one(i) for i in range(sizes.submissions)])
        api_rate = sizes.submissions / (time.perf_counter() - t0)
    finally:
        await http.aclose()

    async def start(i: int) -> None:
        # A case's start runs three local activities: deadline, record, notice.
        await stack.client.start_workflow(bare.run, args=[[0, 3], 99], id=f"bare-start-{i}-{uuid.uuid4()}",
                                          task_queue=BARE_QUEUE)  # fmt: skip

    t0 = time.perf_counter()
    await _pool(32, [start(i) for i in range(sizes.bare_starts)])
    bare_rate = sizes.bare_starts / (time.perf_counter() - t0)
    ratio = api_rate / bare_rate
    return Figure("1. submissions via HTTP API / bare start_workflow", round(ratio, 3), "ratio",
                  "≥ 0.5", ratio >= 0.5,
                  {"api_per_s": round(api_rate, 1), "bare_per_s": round(bare_rate, 1),
                   "submissions": sizes.submissions, "bare_starts": sizes.bare_starts,
                   "concurrency": 32, "upload_bytes": 200 * 1024}), citizens  # fmt: skip


async def _case_via_api(
    http: LeanClient, citizen: dict[str, str], officials: dict[str, dict[str, str]], i: int
) -> str:
    code = await _submit(http, citizen, 10_000 + i)

    async def act(role: str, action: str, **kw: Any) -> dict[str, Any]:
        for _ in range(100):
            answer = await http.post(
                f"/api/v1/dossiers/{code}/actions/{action}", headers=officials[role], **kw
            )
            if answer.status_code == 200:
                return dict(answer.json())
            if answer.status_code not in (404, 409):
                raise RuntimeError(f"{action}: {answer.status_code} {answer.text}")
            await asyncio.sleep(0.05)  # the read model has not caught up yet
        raise RuntimeError(f"{action} refused: {answer.text}")

    await act("reception", "accept", json={})
    start = await http.post(f"/api/v1/dossiers/{code}/payment", headers=citizen)
    for _ in range(100):
        if start.status_code == 200:
            break
        await asyncio.sleep(0.05)
        start = await http.post(f"/api/v1/dossiers/{code}/payment", headers=citizen)
    assert start.status_code == 200, start.text
    paid = await http.post(start.json()["payment_url"], data={"action": "pay"})
    assert paid.status_code == 303, paid.text
    # The gateway's callback reaches the case as a signal, after the redirect: the
    # specialist acts once the case shows up as being processed (as in the inbox), not
    # by sending approvals the workflow refuses until then.
    for _ in range(200):
        status, body = await http.get(f"/api/v1/dossiers/{code}", headers=citizen)
        if status == 200 and json.loads(body)["status"] == "PROCESSING":
            break
        await asyncio.sleep(POLL_SECONDS)
    await act("specialist", "approve", json={})
    await act("leader", "approve", json={})
    issued = await act(
        "issuer",
        "issue_result",
        data={"note": "KQ"},
        files=[("result", ("kq.pdf", _pdf(i, 20_000), "application/pdf"))],
    )
    assert issued["status"] == "COMPLETED", issued
    return code


async def figure_cases(
    stack: Stack, sizes: Sizes, progress: Progress, bare: type, citizens: list[dict[str, str]]
) -> tuple[Figure, str]:
    """Our cases and the bare ones in alternating blocks (ours, bare, ours, bare…), each
    on a drained system: what the shared box gives a process drifts by a third over
    minutes here (the bare rate moved 9.9 → 14.3 cases/s within one run), and blocks
    that alternate meet the same drift on both sides."""
    async with httpx.AsyncClient(base_url=stack.base, timeout=45) as setup:
        officials = await _officials(stack, setup)
    http = LeanClient(stack.base, timeout=45)
    try:
        # Figure 1's cases are still running their first tasks: on a slow host the warm-up
        # case's first update would queue behind hundreds of them, past the timeout.
        drained = await stack.settle()
        first = await _case_via_api(http, citizens[0], officials, -1)  # warm up, and measured
        counts = await history_counts(stack, first)
        from bench.bare import spread

        steps = counts["updates"] + counts["signals"]
        # The same activities as our case, regular and local, spread over the same steps.
        shapes = [list(pair) for pair in zip(spread(counts["activities"], steps + 1),
                                             spread(counts["local_activities"], steps + 1),
                                             strict=True)]  # fmt: skip

        async def bare_case(i: int) -> None:
            handle = await stack.client.start_workflow(
                bare.run, args=[shapes[0], steps], id=f"bare-case-{i}-{uuid.uuid4()}",
                task_queue=BARE_QUEUE)  # fmt: skip
            for n in range(steps):
                if n == 1:
                    await handle.signal(bare.paid, shapes[n + 1])
                else:
                    await handle.execute_update(bare.act, shapes[n + 1])
            await handle.result()

        blocks = max(1, sizes.cases // CASES_PER_BLOCK)
        per_block = sizes.cases // blocks
        seconds = {"ours": 0.0, "bare": 0.0}
        cpu: dict[str, dict[str, float]] = {"ours": {}, "bare": {}}
        settled = {"ours": 0.0, "bare": 0.0}
        host: dict[str, list[int]] = {"ours": [], "bare": []}
        for block in range(blocks):
            for side in ("ours", "bare"):
                progress.step(f"2/5 {side} block {block + 1}/{blocks}",
                              (2 * block + (side == "bare")) / (2 * blocks))  # fmt: skip
                settled[side] += await stack.settle()
                meter, box = stack.cpu_meter(), BoxMeter()
                t0 = time.perf_counter()
                base = block * per_block
                jobs = ([_case_via_api(http, citizens[(base + i) % 32], officials, base + i)
                         for i in range(per_block)] if side == "ours"
                        else [bare_case(base + i) for i in range(per_block)])  # fmt: skip
                await _pool(CASE_CONCURRENCY, jobs)
                seconds[side] += time.perf_counter() - t0
                host[side] = _add(host[side], box.delta())
                for name, used in meter.seconds().items():
                    cpu[side][name] = cpu[side].get(name, 0.0) + used
    finally:
        await http.aclose()
    cases = blocks * per_block
    ours, bare_rate = cases / seconds["ours"], cases / seconds["bare"]
    ratio = ours / bare_rate
    return Figure("2. complete cases via API / bare same-shape workflow", round(ratio, 3),
                  "ratio", "≥ 0.7", ratio >= 0.7,
                  {"ours_per_s": round(ours, 2), "bare_per_s": round(bare_rate, 2),
                   "cases": cases, "blocks": blocks, "concurrency": CASE_CONCURRENCY,
                   "bare_shape": {"regular_and_local_per_step": shapes},
                   "settle_s": {"before_warm_up": drained,
                                **{k: round(v, 1) for k, v in settled.items()}},
                   "cpu_s_per_case": {side: {k: round(v / cases, 3) for k, v in used.items()}
                                      for side, used in cpu.items()},
                   "host_cpu_share": {side: BoxMeter.shares(d) for side, d in host.items()},
                   "case_history": counts}), first  # fmt: skip


async def history_counts(stack: Stack, code: str) -> dict[str, Any]:
    """Events, bytes and activities of one completed case's history (docs/scaling.md)."""
    from temporalio.api.enums.v1 import EventType

    history = await stack.client.get_workflow_handle(code).fetch_history()
    kinds = [e.event_type for e in history.events]
    raw = history.to_json().encode()
    proto_bytes = sum(e.ByteSize() for e in history.events)
    return {
        "events": len(kinds),
        "proto_bytes": proto_bytes,
        "json_bytes": len(raw),
        "activities": kinds.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        "local_activities": sum(
            1
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        ),
        "updates": kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
        "signals": kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),
        "workflow_tasks": kinds.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        "timers": kinds.count(EventType.EVENT_TYPE_TIMER_STARTED),
    }


async def read_model_cost(stack: Stack, code: str) -> dict[str, Any]:
    import sqlalchemy as sa

    from dichvucong.db.engine import Database

    db = Database(stack.settings.resolved_database_url)
    out: dict[str, Any] = {}
    with db.engine.connect() as conn:
        for table, column in (("dossier", "code"), ("dossier_event", "dossier_code"),
                              ("dossier_document", "dossier_code"),
                              ("notification", "dossier_code")):  # fmt: skip
            rows = conn.execute(sa.text(f"SELECT * FROM {table} WHERE {column} = :c"),
                                {"c": code}).fetchall()  # fmt: skip
            out[table] = {"rows": len(rows),
                          "bytes": sum(len(repr(tuple(r))) for r in rows)}  # fmt: skip
    db.dispose()
    return out


async def figure_memory(stack: Stack, sizes: Sizes, progress: Progress) -> Figure:
    """Top the open cases up to ``sizes.open_cases`` (started directly), then RSS."""
    import sqlalchemy as sa

    from dichvucong.db.engine import Database
    from dichvucong.workflows.dossier import DossierWorkflow
    from dichvucong.workflows.messages import CaseRules, DossierInput, StepSpec

    db = Database(stack.settings.resolved_database_url)

    def open_count() -> int:
        with db.engine.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT count(*) FROM dossier WHERE status NOT IN "
                "('COMPLETED','WITHDRAWN','REFUSED','REJECTED')")).scalar_one())  # fmt: skip

    missing = max(0, sizes.open_cases - open_count())
    now = datetime.now(UTC)
    steps = [
        StepSpec(key="tham_dinh", name="Thẩm định", role="specialist", budget_days=7),
        StepSpec(key="phe_duyet", name="Phê duyệt", role="leader", budget_days=3),
    ]
    started = 0

    async def start(i: int) -> None:
        nonlocal started
        code = f"000.00.12.H19-{now:%y%m%d}-M{i:06d}"
        await stack.client.start_workflow(DossierWorkflow.run, DossierInput(
            dossier_code=code, procedure_code="ly-lich-tu-phap",
            procedure_name="Cấp Phiếu lý lịch tư pháp", agency_code=STP,
            agency_name="Sở Tư pháp", submitted_at=now, steps=steps, time_limit_days=10,
            applicant_id=None, documents=[], rules=CaseRules()),
            id=code, task_queue=stack.queue)  # fmt: skip
        started += 1
        if started % 100 == 0:
            progress.step(f"4/5 open cases {started}/{missing}", 0.8 * started / max(1, missing))

    t0 = time.perf_counter()
    await _pool(64, [start(i) for i in range(missing)])
    deadline = time.monotonic() + 900
    while open_count() < sizes.open_cases and time.monotonic() < deadline:
        await asyncio.sleep(1)
    settle = time.perf_counter() - t0
    opened = open_count()
    db.dispose()
    async with httpx.AsyncClient(base_url=stack.base, timeout=60) as http:
        for q in ("075203001234", "x"):
            await http.get("/api/v1/lookup", params={"q": q})
    assert stack.worker is not None and stack.api is not None
    worker_mb, api_mb = _rss_mb(stack.worker), _rss_mb(stack.api)
    worst = max(worker_mb, api_mb)
    return Figure("4. RSS with open cases: max(worker, API)", round(worst, 1), "MB",
                  "≤ 300 MB", worst <= 300 and opened >= sizes.open_cases,
                  {"worker_mb": round(worker_mb, 1), "api_mb": round(api_mb, 1),
                   "open_cases": opened, "started_directly": missing,
                   "start_and_first_transition_s": round(settle, 1),
                   "max_cached_workflows": stack.settings.worker_max_cached_workflows})  # fmt: skip


async def figure_latency(
    label: str, url: str, root: Path, sizes: Sizes, progress: Progress
) -> Figure:
    """A fresh read model with ``latency_rows`` dossiers, the API on it, 200 req/s open loop."""
    from bench import synthetic
    from dichvucong.accounts.officials import create_official
    from dichvucong.db.engine import Database
    from dichvucong.seed import seed
    from dichvucong.settings import Settings

    root.mkdir(parents=True, exist_ok=True)
    settings = Settings(var_dir=root, database_url=url, environment="test",
                        secret_key="bench-secret-0123456789")  # fmt: skip
    seed(settings)
    synthetic.insert(url, sizes.latency_rows, lambda n: progress.step(
        f"3/5 {label}: {n} rows", 0.4 * n / sizes.latency_rows))  # fmt: skip
    db = Database(url)
    with db.session() as session:
        create_official(session=session, username="bench.inbox", password=PASSWORD,
                        agency_code=synthetic.BENCH_AGENCY, roles=["reception"])  # fmt: skip
    db.dispose()
    port = _free_port()
    # Two uvicorn processes (2 cores); the per-client rate limits off: one load generator.
    env = _env(
        DVC_VAR_DIR=str(root),
        DVC_ENVIRONMENT="test",
        DVC_DATABASE_URL=url,
        DVC_RATE_LIMIT_ENABLED="false",
        DVC_NATIONAL_SYNC_ENABLED="false",
        DVC_SECRET_KEY=settings.secret_key,
        DVC_TEMPORAL_ADDRESS="127.0.0.1:1",
    )
    api = _spawn([sys.executable, "-m", "dichvucong.cli", "api", "--port", str(port),
                  "--workers", "2"], env, root / "api.log")  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        await _wait_http(f"{base}/api/v1/procedures")
        rnd = random.Random(3)
        async with httpx.AsyncClient(
            base_url=base, timeout=60, limits=httpx.Limits(max_connections=2000)
        ) as http:
            for _ in range(20):  # warm up (imports, caches, connections)
                await http.get("/api/v1/lookup", params={"q": synthetic.id_number(1)})
            token = await http.post(
                "/api/v1/auth/token", data={"username": "bench.inbox", "password": PASSWORD}
            )
            official = {"Authorization": f"Bearer {token.json()['access_token']}"}
            inbox_size = len((await http.get("/api/v1/official/inbox",
                                             headers=official)).json()["items"])  # fmt: skip
            lat: dict[str, list[float]] = {"lookup": [], "inbox": []}
            errors: dict[str, int] = {}
            lean = LeanClient(base)
            inbox_headers = {"Authorization": official["Authorization"]}

            async def one(kind: str, measured: bool) -> None:
                t = time.perf_counter()
                try:
                    async with asyncio.timeout(60):
                        if kind == "inbox":
                            status, _ = await lean.get("/api/v1/official/inbox", inbox_headers)
                        else:
                            q = synthetic.id_number(rnd.randrange(sizes.latency_rows))
                            status, _ = await lean.get(f"/api/v1/lookup?q={q}")
                    error = None if status == 200 else f"HTTP {status}"
                except (OSError, asyncio.IncompleteReadError, ValueError, KeyError) as exc:
                    error = type(exc).__name__
                if not measured:
                    return
                if error:
                    errors[error] = errors.get(error, 0) + 1
                lat[kind].append((time.perf_counter() - t) * 1000)

            async def drive(total: int, measured: bool) -> float:
                """Open loop: a request every 5 ms, whatever the answers do."""
                tasks = []
                t0 = time.perf_counter()
                for i in range(total):
                    delay = t0 + i / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    kind = "inbox" if i % 2 else "lookup"
                    tasks.append(asyncio.create_task(one(kind, measured)))
                    if measured and i % 200 == 0:
                        progress.step(f"3/5 {label}: load {i}/{total}", 0.4 + 0.6 * i / total)
                await asyncio.gather(*tasks)
                return total / (time.perf_counter() - t0)

            rate, total = 200, int(200 * sizes.latency_seconds)
            # Warm-up at the same rate, not measured: connection pools (ours and the
            # database's), prepared statements, page cache — then the measured run.
            await drive(2 * rate, measured=False)
            box, lags = BoxMeter(), LoopLag()
            achieved = await drive(total, measured=True)
            host = BoxMeter.shares(box.delta())
            generator_lag = lags.stop()
            await lean.aclose()
    finally:
        _stop(api)
    p99 = max(_pct(lat["lookup"], 0.99), _pct(lat["inbox"], 0.99))
    detail = {k: {"p50_ms": round(_pct(v, 0.5), 1), "p99_ms": round(_pct(v, 0.99), 1),
                  "n": len(v)} for k, v in lat.items()}  # fmt: skip
    detail.update({"rows": sizes.latency_rows, "offered_req_s": 200,
                   "achieved_req_s": round(achieved, 1), "errors": errors, "warm_up_s": 2,
                   "load_generator": "bench/loadgen.py (keep-alive HTTP/1.1, open loop)",
                   "inbox_items": inbox_size, "host_cpu_share": host,
                   "generator_loop_lag_ms": generator_lag})  # fmt: skip
    return Figure(
        f"3. lookup+inbox p99 at 200 req/s ({label})",
        round(p99, 1),
        "ms",
        "p99 ≤ 50 ms",
        p99 <= 50 and not errors,
        detail,
    )


async def figure_report(root: Path, sizes: Sizes, progress: Progress) -> Figure:
    from bench import synthetic
    from dichvucong.calendar import WorkCalendar
    from dichvucong.catalog import load_catalog
    from dichvucong.db.engine import Database
    from dichvucong.db.migrate import upgrade
    from dichvucong.reports.model import build_report

    root.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{root / 'report.db'}"
    upgrade(url)
    t0 = time.perf_counter()
    synthetic.insert(url, sizes.report_rows, lambda n: progress.step(
        f"5/5 report: {n} rows", 0.5 * n / sizes.report_rows))  # fmt: skip
    inserted = time.perf_counter() - t0
    progress.step("5/5 report: build_report", 0.5)
    db = Database(url)
    t0 = time.perf_counter()
    report = build_report(db, load_catalog(), WorkCalendar(), datetime.now(UTC).year)
    elapsed = time.perf_counter() - t0
    db.dispose()
    return Figure(
        "5. yearly report over synthetic dossiers",
        round(elapsed, 2),
        "s",
        "reported (no target)",
        None,
        {
            "rows": sizes.report_rows,
            "insert_s": round(inserted, 1),
            "sections": len(report.sections),
            "db_mb": round((root / "report.db").stat().st_size / 2**20, 1),
        },
    )


# ------------------------------------------------------------------ main


def machine() -> dict[str, Any]:
    import psutil
    import sqlalchemy
    import temporalio

    pg = shutil.which("pg_config")
    return {
        "cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(), "platform": platform.platform(),
        "temporalio": temporalio.__version__, "sqlalchemy": sqlalchemy.__version__,
        "postgresql": subprocess.run([pg, "--version"], capture_output=True, text=True
                                     ).stdout.strip() if pg else None,
        "temporal_cli": subprocess.run([str(Path(sys.executable).parent / "temporal"),
                                        "--version"], capture_output=True, text=True
                                       ).stdout.strip(),
    }  # fmt: skip


async def run(sizes: Sizes, only: set[str], out: Path) -> list[Figure]:
    from temporalio.worker import Worker

    from tests.pg.cluster import PostgresUnavailable, start_cluster

    progress = Progress(5)
    figures: list[Figure] = []
    # Other processes on the box skew every figure: keep the load averages with the results.
    extra: dict[str, Any] = {"loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    root = Path(tempfile.mkdtemp(prefix="dvc-bench-"))
    try:
        if only & {"1", "2", "4"}:
            stack = Stack(root / "stack")
            stack.root.mkdir()
            progress.step("starting dev server, API, worker")
            await stack.start()
            bare, noop = _bare_definitions()
            from concurrent.futures import ThreadPoolExecutor

            from temporalio.worker.workflow_sandbox import (
                SandboxedWorkflowRunner,
                SandboxRestrictions,
            )

            # The engine as our worker runs it (codec, sandbox with passed-through
            # modules, thread pool of 32), with nothing of ours inside.
            bare_worker = Worker(stack.client, task_queue=BARE_QUEUE, workflows=[bare],
                                 activities=[noop], activity_executor=ThreadPoolExecutor(32),
                                 max_concurrent_activities=32,
                                 workflow_runner=SandboxedWorkflowRunner(
                                     restrictions=SandboxRestrictions.default
                                     .with_passthrough_all_modules()))  # fmt: skip
            try:
                async with bare_worker:
                    citizens: list[dict[str, str]] = []
                    if "1" in only or "2" in only:
                        fig, citizens = await figure_submissions(stack, sizes, progress, bare)
                        figures.append(fig)
                    progress.advance("1/5 done")
                    if "2" in only:
                        try:
                            fig, code = await figure_cases(stack, sizes, progress, bare, citizens)
                        except Exception as exc:  # report the failure, keep measuring
                            fig, code = (
                                Figure(
                                    "2. complete cases via API / bare same-shape workflow",
                                    None,
                                    "ratio",
                                    "≥ 0.7",
                                    False,
                                    {"error": f"{type(exc).__name__}: {exc}"[:300],
                                     "where": _where(exc)},
                                ),
                                None,
                            )
                        figures.append(fig)
                        if code is not None:
                            extra["per_case"] = {
                                "history": fig.detail["case_history"],
                                "read_model": await read_model_cost(stack, code),
                            }
                    progress.advance("2/5 done")
                    if "4" in only:
                        figures.append(await figure_memory(stack, sizes, progress))
            finally:
                await stack.stop()
        progress.done = 3
        if "3" in only:
            figures.append(await figure_latency("SQLite", f"sqlite:///{root / 'lat' / 'rm.db'}",
                                                root / "lat", sizes, progress))  # fmt: skip
            try:
                cluster = start_cluster()
            except PostgresUnavailable as exc:
                figures.append(
                    Figure(
                        "3. lookup+inbox p99 at 200 req/s (PostgreSQL)",
                        None,
                        "ms",
                        "p99 ≤ 50 ms",
                        None,
                        {"skipped": str(exc)},
                    )
                )
            else:
                try:
                    url = cluster.create_database("bench")
                    figures.append(await figure_latency("PostgreSQL", url, root / "latpg",
                                                        sizes, progress))  # fmt: skip
                finally:
                    cluster.destroy()
        progress.advance("3/5 done")
        if "5" in only:
            figures.append(await figure_report(root / "report", sizes, progress))
        progress.advance("done")
        sys.stderr.write("\n")
    except BaseException:
        sys.stderr.write(f"\nbench failed; logs kept in {root}\n")
        raise
    if any("error" in f.detail for f in figures):
        # A figure that failed is diagnosed from the worker's and the API's logs.
        sys.stderr.write(f"a figure failed; logs kept in {root}\n")
    else:
        shutil.rmtree(root, ignore_errors=True)
    extra["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    out.write_text(json.dumps({
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
        "sizes": sizes.__dict__, "figures": [f.__dict__ for f in figures], **extra,
    }, indent=2, ensure_ascii=False, default=str))  # fmt: skip
    return figures


def _where(exc: BaseException) -> str:
    """The innermost frame of the bench's own code that the failure passed through."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/bench/" in f.filename]
    last = frames[-1] if frames else None
    return f"{Path(last.filename).name}:{last.lineno} {last.line}" if last else "?"


def table(figures: list[Figure]) -> str:
    lines = [f"{'figure':<58} {'value':>10} {'target':<22} result"]
    for f in figures:
        value = "—" if f.value is None else f"{f.value:g} {f.unit}"
        verdict = {True: "PASS", False: "FAIL", None: "info"}[f.passed]
        lines.append(f"{f.name:<58} {value:>10} {f.target:<22} {verdict}")
        compact = {k: v for k, v in f.detail.items() if k != "case_history"}
        lines.append(f"    {json.dumps(compact, ensure_ascii=False, default=str)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about 2 minutes)")
    parser.add_argument("--only", default="1,2,3,4,5", help="figures to run, e.g. 3,5")
    parser.add_argument("--out", default=str(REPO / "bench-results.json"))
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    # uvloop, as in `dichvucong worker` and `dichvucong api`: the bare worker runs in
    # this process and is configured like ours.
    figures = uvloop.run(run(sizes, set(args.only.split(",")), Path(args.out)))
    print(table(figures))
    print(f"\nwritten: {args.out}")
    return 0
