"""The worker's Prometheus endpoint (DVC_WORKER_METRICS_ADDRESS): what tuning reads and
what docker-compose probes. A real ``dichvucong worker`` process against the
time-skipping server, scraped over HTTP."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from temporalio.testing import WorkflowEnvironment

from dichvucong.settings import Settings
from tests.conftest import free_port
from tests.drills.support import WorkerProcess
from tests.workflows.harness import time_skipping_server_path


@pytest.mark.parametrize("address", ["0.0.0.0:9464", "127.0.0.1:1", "[::1]:9464"])
def test_a_socket_address_is_accepted(address: str) -> None:
    assert Settings(worker_metrics_address=address).worker_metrics_address == address


@pytest.mark.parametrize("address", ["localhost:9464", "0.0.0.0", "0.0.0.0:http", ":9464",
                                     "10.0.0.1:70000"])  # fmt: skip
def test_anything_the_sdk_cannot_bind_is_refused_at_start(address: str) -> None:
    with pytest.raises(ValidationError, match="IP:port"):
        Settings(worker_metrics_address=address)


def test_unset_or_empty_means_no_endpoint() -> None:
    assert Settings().worker_metrics_address is None
    assert Settings(worker_metrics_address="").worker_metrics_address is None


async def test_the_worker_serves_its_metrics(tmp_path: Path) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server_path()
    )
    port, queue = free_port(), f"tq-{uuid.uuid4().hex[:8]}"
    worker = WorkerProcess(
        {
            "DVC_VAR_DIR": str(tmp_path),
            "DVC_ENVIRONMENT": "test",
            "DVC_SECRET_KEY": "metrics-secret-0123456789",
            "DVC_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "DVC_TASK_QUEUE": queue,
            "DVC_SCHEDULES_ENABLED": "false",
            "DVC_WORKER_METRICS_ADDRESS": f"127.0.0.1:{port}",
        },
        tmp_path / "worker.log",
    ).start()
    try:
        worker.wait_started()
        pollers: dict[str, float] = {}
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(timeout=5) as http:
            while len(pollers) < 2 and time.monotonic() < deadline:
                answer = await http.get(f"http://127.0.0.1:{port}/metrics")
                assert answer.status_code == 200
                pollers = _pollers(answer.text, queue)
        # Both kinds of task are being polled on our queue: the worker is at work.
        assert pollers.keys() >= {"workflow_task", "activity_task"}, worker.tail()
        assert all(count >= 1 for count in pollers.values())
    finally:
        worker.stop()
        await env.shutdown()


def _pollers(exposition: str, queue: str) -> dict[str, float]:
    """``temporal_num_pollers`` by poller type for ``queue``, from Prometheus' text format."""
    found: dict[str, float] = {}
    for line in exposition.splitlines():
        if not line.startswith("temporal_num_pollers{") or f'task_queue="{queue}"' not in line:
            continue
        labels, _, value = line.rpartition(" ")
        kind = labels.split('poller_type="', 1)[1].split('"', 1)[0]
        found[kind] = float(value)
    return found
