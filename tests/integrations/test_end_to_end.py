"""The real DossierWorkflow in Temporal's time-skipping server with the real
outside activities: a citizen pays on the simulated gateway (its callback reaches
the callback route, which signals the workflow) and receives the result by
simulated post (the delivered webhook completes the case); the citizen's emails
land in a real SMTP server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from dichvucong.activities.deadlines import DeadlineActivities
from dichvucong.activities.notify import NotifyActivities
from dichvucong.activities.records import RecordActivities
from dichvucong.api.problems import install_problem_handlers
from dichvucong.api.routes.callbacks import router as callbacks_router
from dichvucong.db.models import Dossier
from dichvucong.integrations.email import EmailChannel
from dichvucong.integrations.factory import build_outside_activities
from dichvucong.integrations.payment_gateway import start_payment
from dichvucong.settings import Settings
from dichvucong.simulators import install_simulators
from dichvucong.simulators.mail import MailStore, start_dev_smtp
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import AcceptInput, ApproveInput, IssueResultInput
from tests.integrations.portal import CITIZEN_NAME, add_citizen
from tests.workflows.harness import RESULT, dossier_input, harness, vn
from tests.workflows.test_dossier_lifecycle import ISSUER, LEADER, RECEPTION, SPECIALIST


async def _until(predicate: Callable[[], object], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():  # type: ignore[misc]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_pay_online_and_receive_by_post(tmp_path: Path, free_port) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    async with harness(tmp_path) as h:
        settings = Settings(var_dir=tmp_path, database_url=h.db.url, environment="test",
                            public_base_url=f"http://127.0.0.1:{port}")
        app = FastAPI()
        app.state.settings, app.state.db, app.state.temporal = settings, h.db, h.client
        install_problem_handlers(app)
        app.include_router(callbacks_router, prefix="/api/v1")
        install_simulators(app, settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        serving = asyncio.create_task(server.serve())
        smtp = start_dev_smtp("127.0.0.1", free_port(), MailStore())
        try:
            await _until(lambda: _true(server.started), "uvicorn")
            citizen = add_citizen(h.db)
            email = EmailChannel(h.db, host=smtp.host, port=smtp.port,
                                 public_base_url=settings.public_base_url)
            activities = [DeadlineActivities(h.calendar).plan_deadline,
                          RecordActivities(h.db).record_transition,
                          NotifyActivities(h.db, channels=[email]).notify,
                          *build_outside_activities(settings, h.db)]
            async with h.worker(activities):
                start = vn(2027, 1, 11, 9, 0)
                await h.travel_to(start)
                code = h.new_code()
                handle = await h.start(dossier_input(
                    code, start, payment_stage="on_submission", fee_amount=200_000,
                    applicant_id=citizen, delivery="postal",
                    delivery_address="12 Võ Thị Sáu, Biên Hòa"))
                state = await handle.execute_update(DossierWorkflow.accept,
                                                    AcceptInput(actor=RECEPTION))
                assert state.status == "AWAITING_PAYMENT"

                with h.db.session() as session:
                    row = session.get(Dossier, code)
                assert row is not None and row.fee_amount == 200_000
                url = await start_payment(settings, row)
                async with httpx.AsyncClient() as http:
                    assert "200.000 đ" in (await http.get(url)).text
                    paid = await http.post(url, data={"action": "pay"})
                    assert paid.status_code == 303

                async def processing() -> bool:
                    return (await handle.query(DossierWorkflow.state)).status == "PROCESSING"
                await _until(processing, "the payment_confirmed signal")

                await handle.execute_update(DossierWorkflow.approve,
                                            ApproveInput(actor=SPECIALIST))
                await handle.execute_update(DossierWorkflow.approve, ApproveInput(actor=LEADER))
                state = await handle.execute_update(DossierWorkflow.issue_result, IssueResultInput(
                    documents=[RESULT], actor=ISSUER))
                assert state.status == "DISPATCHED"
                tracking = state.tracking_number
                assert tracking in app.state.postal_simulator.shipments
                shipment = app.state.postal_simulator.shipments[tracking]
                assert shipment.recipient == CITIZEN_NAME

                async with httpx.AsyncClient() as http:
                    await http.post(
                        f"{settings.public_base_url}/_sim/postal/shipments/{tracking}/status",
                        data={"status": "delivered"})
                outcome = await handle.result()
                assert outcome.status == "COMPLETED"

            assert app.state.payment_simulator.charges.total() == 1
            assert len(app.state.postal_simulator.shipments) == 1
            subjects = [m.subject for m in smtp.store.messages()]
            assert f"Hồ sơ {code}: Chờ nộp phí, lệ phí" in subjects
            assert f"Hồ sơ {code}: Đã hoàn thành" in subjects
        finally:
            smtp.stop()
            server.should_exit = True
            await serving


async def _true(value: object) -> bool:
    return bool(value)
