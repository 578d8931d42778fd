"""`dichvucong dev` (dichvucong/devstack): ports, the Temporal dev server, the whole stack.

Every test uses free ports (never 7233/8233/8000: other suites run at the same time).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from dichvucong.devstack.children import Child
from dichvucong.devstack.ports import (
    PortNeed,
    first_port_problem,
    port_problem,
    split_host_port,
)
from dichvucong.devstack.temporal_dev import (
    INDEXED_TYPES,
    dev_server_argv,
    ensure_search_attributes,
    find_temporal_binary,
    wait_for_temporal,
)
from dichvucong.search_attributes import CLI_TYPES
from dichvucong.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_SECONDS = 90.0
STOP_SECONDS = 20.0


# -- helpers -------------------------------------------------------------------------------


@contextmanager
def listening(port: int) -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield sock


def stack_env(tmp: Path, free_port: Callable[[], int], subprocess_env, **extra: str) -> dict:
    temporal_port, ui_port, http_port = free_port(), free_port(), free_port()
    smtp_port = free_port()
    return subprocess_env(
        DVC_SMTP_PORT=str(smtp_port),
        DVC_DEMO_CASES="0",
        DVC_VAR_DIR=str(tmp),
        DVC_TEMPORAL_ADDRESS=f"127.0.0.1:{temporal_port}",
        DVC_TEMPORAL_UI_PORT=str(ui_port),
        DVC_TEMPORAL_UI_PUBLIC_URL=f"http://127.0.0.1:{ui_port}",
        DVC_HTTP_PORT=str(http_port),
        DVC_PUBLIC_BASE_URL=f"http://127.0.0.1:{http_port}",
        **extra,
    )


def ports_of(env: dict) -> list[int]:
    return [
        split_host_port(env["DVC_TEMPORAL_ADDRESS"])[1],
        int(env["DVC_TEMPORAL_UI_PORT"]),
        int(env["DVC_HTTP_PORT"]),
        int(env["DVC_SMTP_PORT"]),
    ]


def processes_mentioning(text: str) -> list[int]:
    """Pids (other than ours) whose command line or environment mentions ``text``."""
    found = []
    needle = text.encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            blob = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if needle in blob:
            found.append(int(proc.name))
    return found


def get_ok(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2.0).status_code
    except httpx.TransportError:
        return None


def wait_until_up(proc: subprocess.Popen, out: Path, env: dict) -> None:
    """Until the banner is printed, the API answers 200 and the Temporal UI answers HTTP."""
    api = f"{env['DVC_PUBLIC_BASE_URL']}/api/v1/agencies"
    ui = f"http://127.0.0.1:{env['DVC_TEMPORAL_UI_PORT']}/"
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dev stack exited with {proc.returncode}:\n{out.read_text()}")
        banner = "Ctrl-C" in out.read_text(encoding="utf-8", errors="replace")
        if banner and get_ok(api) == 200 and get_ok(ui) is not None:
            return
        time.sleep(0.25)
    pytest.fail(f"dev stack not up within {READY_SECONDS:.0f} s:\n{out.read_text()}")


def interrupt_and_check_clean(proc: subprocess.Popen, env: dict, tmp: Path) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("dev stack did not stop within 20 s of SIGINT")
    assert code == 0
    for port in ports_of(env):
        assert port_problem("127.0.0.1", port) is None, f"port {port} still in use"
    assert processes_mentioning(str(tmp)) == []


def start_stack(argv: list[str], env: dict, out: Path) -> subprocess.Popen:
    with open(out, "wb") as log:
        return subprocess.Popen(
            argv, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT,
        )


@contextmanager
def reaped(proc: subprocess.Popen) -> Iterator[subprocess.Popen]:
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def custom_attributes(address: str, namespace: str = "default") -> dict[str, int]:
    client = await Client.connect(address, namespace=namespace)
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    return dict(response.custom_attributes)


def expected_types() -> dict[str, int]:
    return {name: INDEXED_TYPES[type_name] for name, type_name in CLI_TYPES.items()}


# -- fast: ports and the command line ---------------------------------------------------------


def test_split_host_port() -> None:
    assert split_host_port("127.0.0.1:7233") == ("127.0.0.1", 7233)
    assert split_host_port("[::1]:7000") == ("::1", 7000)
    with pytest.raises(ValueError):
        split_host_port("localhost")


def test_port_in_use_is_reported(free_port) -> None:
    port = free_port()
    assert port_problem("127.0.0.1", port) is None
    with listening(port):
        problem = first_port_problem([PortNeed("127.0.0.1", port, "the web app", "DVC_HTTP_PORT")])
    assert problem is not None
    assert f"cổng {port} đang được dùng" in problem and "DVC_HTTP_PORT" in problem


def test_same_port_twice_is_reported(free_port) -> None:
    port = free_port()
    problem = first_port_problem([
        PortNeed("127.0.0.1", port, "Temporal UI", "DVC_TEMPORAL_UI_PORT"),
        PortNeed("127.0.0.1", port, "the web app", "DVC_HTTP_PORT"),
    ])
    assert problem is not None and "configured twice" in problem


def test_dev_server_command(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, temporal_ui_port=18233, temporal_namespace="dvc")
    argv = dev_server_argv(Path("/x/temporal"), settings, host="127.0.0.1", port=17233)
    assert argv[:3] == ["/x/temporal", "server", "start-dev"]
    joined = " ".join(argv)
    assert "--ip 127.0.0.1 --port 17233 --ui-port 18233" in joined
    assert f"--db-filename {tmp_path / 'temporal.db'}" in joined
    assert "--namespace dvc" in joined
    flags = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--search-attribute"]
    assert flags == [f"{name}={type_}" for name, type_ in CLI_TYPES.items()]


def test_temporal_binary_comes_from_the_wheel() -> None:
    binary = find_temporal_binary()
    assert binary is not None and binary.is_file()


def test_dev_refuses_a_busy_port(tmp_path: Path, free_port, subprocess_env) -> None:
    env = stack_env(tmp_path, free_port, subprocess_env)
    port = int(env["DVC_HTTP_PORT"])
    with listening(port):
        result = subprocess.run(
            [sys.executable, "-m", "dichvucong.cli", "dev"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(port) in lines[0] and "DVC_HTTP_PORT" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "temporal.db").exists(), "nothing may start when a port is busy"


# -- the Temporal part on its own --------------------------------------------------------------


@pytest.mark.devserver
def test_temporal_dev_server_keeps_cases_and_adds_missing_attributes(tmp_path: Path, free_port):
    """An older database (three attributes) restarted with all the flags: the dev server
    ignores flags for an existing database, so ensure_search_attributes adds the rest;
    a workflow started before the restart is still there after it."""
    binary = find_temporal_binary()
    assert binary is not None
    port, ui_port = free_port(), free_port()
    address = f"127.0.0.1:{port}"
    settings = Settings(var_dir=tmp_path, temporal_address=address, temporal_ui_port=ui_port)

    def server(argv: list[str]) -> Child:
        child = Child("temporal", argv, log_path=tmp_path / "temporal.log")
        child.start()
        return child

    async def ready(child: Child) -> Client:
        client = await wait_for_temporal(
            address, "default", timeout=60, server_alive=child.running,
            stop_requested=lambda: False,
        )
        assert client is not None, (tmp_path / "temporal.log").read_text()
        return client

    full = dev_server_argv(binary, settings, host="127.0.0.1", port=port)
    old = full[: full.index("--search-attribute")] + [
        "--search-attribute", "CaseStatus=Keyword",
        "--search-attribute", "DueAt=Datetime",
        "--search-attribute", "Overdue=Bool",
    ]

    first = server(old)
    try:
        async def before() -> None:
            client = await ready(first)
            await client.start_workflow(
                "NoSuchWorkflow", id="DVC-PERSIST-1", task_queue="nobody-polls"
            )
        asyncio.run(before())
    finally:
        first.stop()
    assert first.exit_code() is not None

    second = server(full)
    try:
        async def after() -> tuple[list[str], dict[str, int], str]:
            client = await ready(second)
            added = await ensure_search_attributes(client, "default")
            again = await ensure_search_attributes(client, "default")
            assert again == []
            handle = client.get_workflow_handle("DVC-PERSIST-1")
            description = await handle.describe()
            return added, await custom_attributes(address), description.workflow_type

        added, attributes, workflow_type = asyncio.run(after())
    finally:
        second.stop()
    assert added == ["AgencyCode", "CurrentStep", "ProcedureCode", "StatusSince"]
    assert attributes == expected_types()
    assert workflow_type == "NoSuchWorkflow"
    assert port_problem("127.0.0.1", port) is None


# -- the stack with stand-in worker and web app (independent of the real ones) -----------------

STUB_WORKER = '''
import asyncio, os
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

@workflow.defn
class Noop:
    @workflow.run
    async def run(self) -> None:
        return None

async def main() -> None:
    client = await Client.connect(os.environ["DVC_TEMPORAL_ADDRESS"])
    async with Worker(client, task_queue=os.environ.get("DVC_TASK_QUEUE", "dossiers"),
                      workflows=[Noop]):
        await asyncio.Event().wait()

if __name__ == "__main__":
    if os.environ.get("STUB_WORKER_EXIT"):
        raise SystemExit(int(os.environ["STUB_WORKER_EXIT"]))
    asyncio.run(main())
'''

STUB_API = '''
import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps([{"code": "000.00.12.H19"}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer(("127.0.0.1", int(os.environ["DVC_HTTP_PORT"])), Handler).serve_forever()
'''

DRIVER = '''
import sys
from dichvucong.devstack import DevStack
from dichvucong.settings import Settings

class Summary:
    def describe(self):
        return "citizen: demo-citizen / demo12345"

stack = DevStack(Settings(), worker_argv=[sys.executable, sys.argv[1]],
                 api_argv=[sys.executable, sys.argv[2]], seeder=lambda settings: Summary())
sys.exit(stack.run())
'''


@pytest.fixture
def stub_stack(tmp_path: Path) -> list[str]:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name, text in (("worker.py", STUB_WORKER), ("api.py", STUB_API), ("driver.py", DRIVER)):
        (scripts / name).write_text(textwrap.dedent(text))
    return [sys.executable, str(scripts / "driver.py"), str(scripts / "worker.py"),
            str(scripts / "api.py")]


@pytest.mark.devserver
def test_stack_starts_prints_addresses_and_stops_on_sigint(
    tmp_path: Path, free_port, subprocess_env, stub_stack: list[str]
) -> None:
    var = tmp_path / "var"
    env = stack_env(var, free_port, subprocess_env)
    out = tmp_path / "out.txt"
    with reaped(start_stack(stub_stack, env, out)) as proc:
        wait_until_up(proc, out, env)
        text = out.read_text(encoding="utf-8")
        base = env["DVC_PUBLIC_BASE_URL"]
        for url in (f"{base}/", f"{base}/can-bo", f"{base}/docs", f"{base}/_dev/mail",
                    f"http://127.0.0.1:{env['DVC_TEMPORAL_UI_PORT']}"):
            assert url in text
        assert "demo-citizen / demo12345" in text
        assert "warning" not in text, text  # the stand-in worker polled its task queue
        assert asyncio.run(custom_attributes(env["DVC_TEMPORAL_ADDRESS"])) == expected_types()
        interrupt_and_check_clean(proc, env, var)
    assert (var / "temporal.db").is_file()


@pytest.mark.devserver
def test_stack_stops_everything_when_a_child_dies(
    tmp_path: Path, free_port, subprocess_env, stub_stack: list[str]
) -> None:
    var = tmp_path / "var"
    env = stack_env(var, free_port, subprocess_env, STUB_WORKER_EXIT="3")
    out = tmp_path / "out.txt"
    with reaped(start_stack(stub_stack, env, out)) as proc:
        code = proc.wait(READY_SECONDS)
    text = out.read_text(encoding="utf-8")
    assert code == 1, text
    assert "worker exited unexpectedly with code 3" in text
    assert str(var / "worker.log") in text
    assert "Traceback" not in text
    for port in ports_of(env):
        assert port_problem("127.0.0.1", port) is None
    assert processes_mentioning(str(var)) == []


@pytest.mark.devserver
def test_ctrl_c_while_starting_stops_cleanly(
    tmp_path: Path, free_port, subprocess_env, stub_stack: list[str]
) -> None:
    var = tmp_path / "var"
    env = stack_env(var, free_port, subprocess_env)
    out = tmp_path / "out.txt"
    with reaped(start_stack(stub_stack, env, out)) as proc:
        deadline = time.monotonic() + READY_SECONDS
        while "Temporal" not in out.read_text(encoding="utf-8") and proc.poll() is None:
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.05)
        interrupt_and_check_clean(proc, env, var)
    text = out.read_text(encoding="utf-8")
    assert "Traceback" not in text and "Ctrl-C" not in text, text


# -- the real thing: `python -m dichvucong.cli dev` -------------------------------------------


@pytest.mark.devserver
def test_dev_full_start_stop_and_restart(tmp_path: Path, free_port, subprocess_env) -> None:
    var = tmp_path / "var"
    env = stack_env(var, free_port, subprocess_env)
    argv = [sys.executable, "-m", "dichvucong.cli", "dev"]

    for run in (1, 2):  # the second run reuses the var dir: the Temporal db file persists
        out = tmp_path / f"run{run}.txt"
        with reaped(start_stack(argv, env, out)) as proc:
            wait_until_up(proc, out, env)
            attributes = asyncio.run(custom_attributes(env["DVC_TEMPORAL_ADDRESS"]))
            assert attributes == expected_types()
            assert set(attributes) == {
                "CaseStatus", "DueAt", "Overdue", "AgencyCode", "ProcedureCode", "CurrentStep",
                "StatusSince",
            }
            interrupt_and_check_clean(proc, env, var)
        assert (var / "temporal.db").is_file()
