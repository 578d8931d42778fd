"""Drill: cases in flight, the worker is ``kill -9``-ed, a new one takes over.

The dev server is a real ``temporal server start-dev`` on a SQLite file, the
worker a real ``python -m dichvucong.cli worker`` subprocess, the payment
gateway and postal service the simulators served by uvicorn (they count
every charge and shipment), email a real aiosmtpd server (it counts every
message). Half of the cases wait for the gateway's payment callback when the
worker dies, the other half are being dispatched by post.

200 cases, as the issue asks (2½–3 minutes on this 2-core machine; each wait is
bounded, the whole is not timed: speed belongs to `make bench`);
``DVC_DRILL_CASES=50`` gives a quicker run while developing.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlmodel import select
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Replayer

from dichvucong.app import create_app
from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier, DossierEvent
from dichvucong.integrations.payment_gateway import start_payment
from dichvucong.seed import seed
from dichvucong.settings import Settings
from dichvucong.simulators.mail import MailStore, start_dev_smtp
from dichvucong.temporal_client import connect
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import (
    AcceptInput,
    ApproveInput,
    CaseRules,
    IssueResultInput,
)
from tests.conftest import free_port
from tests.drills.support import (
    DevServer,
    WorkerProcess,
    bounded_gather,
    drill_settings,
    until,
    worker_env,
)
from tests.integrations.portal import add_citizen
from tests.workflows.harness import RESULT, dossier_input
from tests.workflows.test_dossier_lifecycle import ISSUER, LEADER, RECEPTION, SPECIALIST

pytestmark = pytest.mark.devserver

CASES = int(os.environ.get("DVC_DRILL_CASES", "200"))
FEE = 200_000
# Short outside-call timeouts so a dispatch cut by the kill is retried within seconds.
RULES = CaseRules(outside_call_seconds=5)


async def _state(handle: WorkflowHandle[Any, Any]) -> Any:
    return await handle.query(DossierWorkflow.state)


async def _status_is(handles: list[WorkflowHandle[Any, Any]], wanted: set[str]) -> bool:
    states = await asyncio.gather(*(_state(h) for h in handles))
    return all(s.status in wanted for s in states)


async def _pay(settings: Settings, db: Database, code: str, http: httpx.AsyncClient) -> None:
    """The citizen opens the gateway's page and pays; the gateway calls the portal back."""
    for _ in range(100):  # the read model may lag the accept by a moment
        with db.session() as session:
            row = session.get(Dossier, code)
        if row is not None and row.status == "AWAITING_PAYMENT" and row.fee_amount:
            break
        await asyncio.sleep(0.1)
    assert row is not None
    url = await start_payment(settings, row)
    answer = await http.post(url, data={"action": "pay"})
    assert answer.status_code == 303, answer.text


async def _update(handle: WorkflowHandle[Any, Any], update: Any, arg: Any, uid: str) -> None:
    """An update with a fixed id (deduplicated by the server), retried while workers die."""
    for attempt in range(20):
        try:
            await asyncio.wait_for(handle.execute_update(update, arg, id=uid), 40)
            return
        except Exception:
            if attempt == 19:
                raise
            await asyncio.sleep(1)


async def test_kill_9_the_worker_with_cases_in_flight(tmp_path: Path) -> None:
    server = DevServer(tmp_path / "temporal.db", tmp_path / "temporal.log")
    await server.start()
    port, smtp_port = free_port(), free_port()
    settings = drill_settings(
        tmp_path, server, public_base_url=f"http://127.0.0.1:{port}", smtp_port=smtp_port
    )
    url = settings.resolved_database_url
    seed(settings)
    # The project's data converter (payload encryption): the worker encrypts what it stores.
    client: Client = await connect(settings)
    db = Database(url)
    app = create_app(settings, temporal=client)
    web = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(web.serve())
    smtp = start_dev_smtp("127.0.0.1", smtp_port, MailStore(keep=100_000))
    workers_env = worker_env(
        settings, DVC_PUBLIC_BASE_URL=settings.public_base_url, DVC_SMTP_PORT=str(smtp_port)
    )
    first = WorkerProcess(workers_env, tmp_path / "worker-1.log").start()
    second: WorkerProcess | None = None
    payments, postal = app.state.payment_simulator, app.state.postal_simulator
    try:
        await until(lambda: _true(web.started), "uvicorn", 15)
        first.wait_started()
        citizens = [
            add_citizen(
                db,
                email=f"cd{i}@example.vn",
                phone=f"09{i:08d}",
                id_number=f"0751900{i:05d}",
            )
            for i in range(5)
        ]
        now = datetime.now(UTC)
        codes = [f"000.00.12.H19-{now:%y%m%d}-{i + 1:04d}" for i in range(CASES)]
        online, postal_codes = codes[::2], codes[1::2]
        handles = {}
        for i, code in enumerate(codes):
            postal_case = code in postal_codes
            handles[code] = await client.start_workflow(
                DossierWorkflow.run,
                dossier_input(
                    code,
                    datetime.now(UTC),
                    payment_stage="on_submission",
                    fee_amount=FEE,
                    applicant_id=citizens[i % len(citizens)],
                    delivery="postal" if postal_case else "online",
                    delivery_address="12 Võ Thị Sáu, Biên Hòa" if postal_case else None,
                    rules=RULES,
                ),
                id=code,
                task_queue=settings.task_queue,
            )
        all_handles = list(handles.values())
        await bounded_gather(
            16,
            *(_update(h, DossierWorkflow.accept, AcceptInput(actor=RECEPTION), f"acc-{c}")
              for c, h in handles.items()),
        )  # fmt: skip
        async with httpx.AsyncClient(timeout=30) as http:
            # The postal half: paid, approved twice, waiting for the result.
            await bounded_gather(8, *(_pay(settings, db, c, http) for c in postal_codes))
            postal_handles = [handles[c] for c in postal_codes]
            await until(lambda: _status_is(postal_handles, {"PROCESSING"}), "payments", 60)
            for uid, actor in (("ap1", SPECIALIST), ("ap2", LEADER)):
                await bounded_gather(
                    16,
                    *(_update(handles[c], DossierWorkflow.approve, ApproveInput(actor=actor),
                              f"{uid}-{c}") for c in postal_codes),
                )  # fmt: skip

            # In flight: the online half pays (callbacks -> signals), the postal half
            # gets its result issued (-> dispatch to the postal service).
            in_flight = [
                asyncio.create_task(bounded_gather(8, *(_pay(settings, db, c, http)
                                                        for c in online))),
                asyncio.create_task(bounded_gather(
                    8, *(_update(handles[c], DossierWorkflow.issue_result,
                                 IssueResultInput(documents=[RESULT], actor=ISSUER), f"iss-{c}")
                         for c in postal_codes))),
            ]  # fmt: skip
            await until(
                lambda: _true(len(postal.shipments) >= len(postal_codes) // 3),
                "the first shipments",
                60,
                every=0.05,
            )
            first.kill9()
            killed_at = (len(postal.shipments), payments.charges.total())
            await asyncio.sleep(1)
            second = WorkerProcess(workers_env, tmp_path / "worker-2.log").start()
            await asyncio.gather(*in_flight)

            online_handles = [handles[c] for c in online]
            await until(lambda: _status_is(online_handles, {"PROCESSING"}), "callbacks", 90)
            for uid, actor in (("ap1", SPECIALIST), ("ap2", LEADER)):
                await bounded_gather(
                    16,
                    *(_update(handles[c], DossierWorkflow.approve, ApproveInput(actor=actor),
                              f"{uid}-{c}") for c in online),
                )  # fmt: skip
            await bounded_gather(
                16,
                *(_update(handles[c], DossierWorkflow.issue_result,
                          IssueResultInput(documents=[RESULT], actor=ISSUER), f"iss-{c}")
                  for c in online),
            )  # fmt: skip
            await until(lambda: _status_is(postal_handles, {"DISPATCHED"}), "dispatches", 90)
            for code in postal_codes:
                tracking = (await _state(handles[code])).tracking_number
                await http.post(
                    f"{settings.public_base_url}/_sim/postal/shipments/{tracking}/status",
                    data={"status": "delivered"},
                )
            outcomes = await asyncio.wait_for(
                asyncio.gather(*(h.result() for h in all_handles)), 90
            )
        assert {o.status for o in outcomes} == {"COMPLETED"}
        assert 0 < killed_at[0] < len(postal_codes) or killed_at[1] < CASES, killed_at

        # Nothing twice on the outside parties' side.
        assert payments.charges.total() == CASES
        assert set(payments.charges.values()) == {1}
        assert len(postal.shipments) == len(postal_codes)
        assert sorted(s.dossier_code for s in postal.shipments.values()) == sorted(postal_codes)
        ids = Counter(m.message_id for m in smtp.store.messages())
        assert ids and max(ids.values()) == 1, [i for i, n in ids.items() if n > 1]

        # The read model equals each workflow's own state; every transition once.
        await until(lambda: _read_model_settled(db, handles), "the read model", 30)
        with db.session() as session:
            for code, handle in handles.items():
                state = await _state(handle)
                row = session.get(Dossier, code)
                assert row is not None
                assert (row.status, row.last_seq, row.payment_status, row.tracking_number) == (
                    state.status, state.seq, state.payment_status, state.tracking_number
                )  # fmt: skip
                seqs = [e.seq for e in session.exec(
                    select(DossierEvent).where(DossierEvent.dossier_code == code))]  # fmt: skip
                assert sorted(seqs) == list(range(state.seq + 1))

        # Every history the two workers wrote under load replays with today's code (a
        # case whose live run and replay diverge would be stuck after the next restart).
        replayed = await Replayer(
            workflows=[DossierWorkflow], data_converter=client.data_converter
        ).replay_workflows(
            (await h.fetch_history() for h in all_handles), raise_on_replay_failure=False
        )
        failures = {run_id: str(err) for run_id, err in replayed.replay_failures.items()}
        assert failures == {}
    finally:
        for worker in (first, second):
            if worker is not None:
                worker.stop()
        smtp.stop()
        web.should_exit = True
        await serving
        db.dispose()
        server.stop()


async def _read_model_settled(db: Database, handles: dict[str, WorkflowHandle[Any, Any]]) -> bool:
    with db.session() as session:
        rows = {d.code: d.last_seq for d in session.exec(select(Dossier))}
    for code, handle in handles.items():
        if rows.get(code) != (await _state(handle)).seq:
            return False
    return True


async def _true(value: object) -> bool:
    return bool(value)
