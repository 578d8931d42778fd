"""Fees at each stage, the gateway's callbacks and queries, and each way of returning the result."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.client import WorkflowUpdateFailedError

from dichvucong.activities.contracts import PaymentStatus
from dichvucong.db.models import Dossier, DossierEvent
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import (
    AcceptInput,
    ApproveInput,
    CaseRules,
    CounterPaymentInput,
    HandOverInput,
    IssueResultInput,
    PaymentConfirmedInput,
    PostalUpdateInput,
    RedispatchInput,
    RejectInput,
)
from dichvucong.workflows.references import payment_reference

from .harness import RESULT, Harness, dossier_input, harness, vn
from .test_dossier_lifecycle import ISSUER, LEADER, RECEPTION, SPECIALIST


async def _process_to_result(handle, *, issue: bool = True) -> None:  # type: ignore[no-untyped-def]
    await handle.execute_update(DossierWorkflow.approve, ApproveInput(actor=SPECIALIST))
    await handle.execute_update(DossierWorkflow.approve, ApproveInput(actor=LEADER))
    if issue:
        await handle.execute_update(
            DossierWorkflow.issue_result, IssueResultInput(documents=[RESULT], actor=ISSUER)
        )


def _last_event(h: Harness, code: str) -> DossierEvent:
    with h.db.session() as session:
        last = session.exec(
            select(DossierEvent)
            .where(DossierEvent.dossier_code == code)
            .order_by(DossierEvent.seq.desc())  # type: ignore[attr-defined]
        ).first()
    assert last is not None
    return last


async def _events(h: Harness, code: str) -> list[str]:
    with h.db.session() as session:
        return [
            e.action
            for e in session.exec(
                select(DossierEvent)
                .where(DossierEvent.dossier_code == code)
                .order_by(DossierEvent.seq)
            )
        ]


async def test_on_submission_fee_paid_online_wrong_amount_ignored(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        code = h.new_code()
        handle = await h.start(
            dossier_input(code, start, payment_stage="on_submission", fee_amount=200_000)
        )
        state = await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        assert (state.status, state.step, state.due_at) == ("AWAITING_PAYMENT", "payment", None)
        await handle.signal(
            DossierWorkflow.payment_confirmed,
            PaymentConfirmedInput(
                payment_ref=payment_reference(code), amount=100_000, transaction_id="T1"
            ),
        )
        await handle.signal(
            DossierWorkflow.payment_confirmed,
            PaymentConfirmedInput(
                payment_ref="DVC-SOMETHING-ELSE", amount=200_000, transaction_id="T2"
            ),
        )
        await h.env.sleep(timedelta(seconds=1))
        assert (await handle.query(DossierWorkflow.state)).status == "AWAITING_PAYMENT"

        await h.travel_to(vn(2027, 1, 11, 10, 0))
        await handle.signal(
            DossierWorkflow.payment_confirmed,
            PaymentConfirmedInput(
                payment_ref=payment_reference(code), amount=200_000, transaction_id="T3"
            ),
        )
        await h.env.sleep(timedelta(seconds=1))
        state = await handle.query(DossierWorkflow.state)
        assert (state.status, state.payment_status) == ("PROCESSING", "paid")
        # the time limit runs from payment, when the dossier really starts
        assert state.due_at == vn(2027, 1, 25, 10, 0)
        # a replayed callback is recorded and changes nothing
        await handle.signal(
            DossierWorkflow.payment_confirmed,
            PaymentConfirmedInput(
                payment_ref=payment_reference(code), amount=200_000, transaction_id="T3"
            ),
        )
        await h.env.sleep(timedelta(seconds=1))
        assert (await _events(h, code)) == [
            "submit",
            "accept",
            "payment_mismatch",
            "payment_mismatch",
            "payment_confirmed",
            "payment_mismatch",
        ]
        with h.db.session() as session:
            row = session.get(Dossier, code)
            assert row is not None and (row.payment_status, row.payment_method) == (
                "paid",
                "online",
            )

        # Rejected after an online payment: a refund is requested, exactly once.
        state = await handle.execute_update(
            DossierWorkflow.reject,
            RejectInput(reasons=["Không đủ điều kiện cấp phiếu"], actor=SPECIALIST),
        )
        assert (state.status, state.payment_status) == ("REJECTED", "refund_requested")
        assert h.world.refund_calls == [f"{code}:refund"]


async def test_missing_callback_healed_by_querying_the_gateway(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        code = h.new_code()
        handle = await h.start(
            dossier_input(code, start, payment_stage="on_submission", fee_amount=200_000)
        )
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await h.env.sleep(timedelta(minutes=31))
        assert h.world.queries == [payment_reference(code)]  # asked once, still pending
        h.world.gateway_answers[payment_reference(code)] = PaymentStatus(
            status="paid", amount=200_000, transaction_id="GW-9"
        )
        await h.env.sleep(timedelta(minutes=31))
        state = await handle.query(DossierWorkflow.state)
        assert (state.status, state.payment_status) == ("PROCESSING", "paid")


async def test_unpaid_on_submission_fee_expires(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(
            dossier_input(
                h.new_code(),
                start,
                payment_stage="on_submission",
                fee_amount=200_000,
                applicant_id=2,
            )
        )
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        outcome = await handle.result()
        assert outcome.status == "WITHDRAWN"
        assert "payment_reminder" in await _events(h, handle.id)


async def test_a_payment_whose_callback_never_came_is_found_at_expiry(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        code = h.new_code()
        # No periodic query before the expiry: only the last look can find the payment.
        rules = CaseRules(payment_query_minutes=60 * 24 * 30)
        handle = await h.start(
            dossier_input(
                code, start, payment_stage="on_submission", fee_amount=200_000, rules=rules
            )
        )
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        h.world.gateway_answers[payment_reference(code)] = PaymentStatus(
            status="paid", amount=200_000, transaction_id="GW-LATE"
        )
        await h.env.sleep(timedelta(days=10))  # past the 5 working days to pay
        state = await handle.query(DossierWorkflow.state)
        assert (state.status, state.payment_status) == ("PROCESSING", "paid")
        assert h.world.queries == [payment_reference(code)]
        assert "payment_confirmed" in await _events(h, code)


async def test_before_result_fee_paid_at_the_counter_then_counter_hand_over(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(
            dossier_input(
                h.new_code(),
                start,
                payment_stage="before_result",
                fee_amount=50_000,
                delivery="counter",
            )
        )
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await _process_to_result(handle)
        state = await handle.query(DossierWorkflow.state)
        assert (state.status, state.timeliness) == ("AWAITING_PAYMENT", "early")
        with pytest.raises(WorkflowUpdateFailedError) as wrong:
            await handle.execute_update(
                DossierWorkflow.record_counter_payment,
                CounterPaymentInput(receipt_no="BL-0001", amount=40_000, actor=RECEPTION),
            )
        assert "không khớp" in str(wrong.value.cause)
        state = await handle.execute_update(
            DossierWorkflow.record_counter_payment,
            CounterPaymentInput(receipt_no="BL-0001", amount=50_000, actor=RECEPTION),
        )
        assert (state.status, state.payment_status) == ("RESULT_READY", "paid")
        state = await handle.execute_update(DossierWorkflow.hand_over, HandOverInput(actor=ISSUER))
        assert state.status == "COMPLETED"
        assert (await handle.result()).timeliness == "early"


async def test_postal_delivery_returned_then_redispatched_and_delivered(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        code = h.new_code()
        h.world.fail_shipments = 1  # the postal API fails once; the activity retries
        handle = await h.start(
            dossier_input(
                code, start, delivery="postal", delivery_address="12 Võ Thị Sáu, Biên Hòa"
            )
        )
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await _process_to_result(handle)
        state = await handle.query(DossierWorkflow.state)
        assert (state.status, state.tracking_number) == ("DISPATCHED", "VN000000001")
        assert h.world.shipment_calls == [f"{code}:ship:1", f"{code}:ship:1"]

        await handle.signal(
            DossierWorkflow.postal_update,
            PostalUpdateInput(
                tracking_number="VN000000001", status="returned", note="Không có người nhận"
            ),
        )
        await h.env.sleep(timedelta(seconds=1))
        state = await handle.query(DossierWorkflow.state)
        assert state.status == "RESULT_READY"
        assert state.allowed_actions["issuer"] == ["hand_over", "redispatch"]
        state = await handle.execute_update(
            DossierWorkflow.redispatch,
            RedispatchInput(address="25 Phan Chu Trinh, Biên Hòa", actor=ISSUER),
        )
        assert (state.status, state.tracking_number) == ("DISPATCHED", "VN000000002")
        await handle.signal(
            DossierWorkflow.postal_update,
            PostalUpdateInput(tracking_number="VN000000001", status="delivered"),
        )  # stale number: ignored
        await handle.signal(
            DossierWorkflow.postal_update,
            PostalUpdateInput(tracking_number="VN000000002", status="delivered"),
        )
        outcome = await handle.result()
        assert outcome.status == "COMPLETED"
        with h.db.session() as session:
            row = session.get(Dossier, code)
            assert row is not None and row.tracking_number == "VN000000002"
            assert row.state["delivery_address"] == "25 Phan Chu Trinh, Biên Hòa"


async def test_online_delivery_completes_when_the_result_is_issued(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        handle = await h.start(dossier_input(h.new_code(), start, delivery="online"))
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await _process_to_result(handle)
        state = await handle.query(DossierWorkflow.state)
        assert state.status == "COMPLETED"
        assert [d.sha256 for d in state.result_documents] == [RESULT.sha256]


async def test_a_shipment_the_postal_service_refuses_waits_at_the_counter(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        code = h.new_code()
        h.world.reject_shipments = 1
        handle = await h.start(
            dossier_input(code, start, delivery="postal", delivery_address="Ấp 3, đảo Hòn Tre")
        )
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await _process_to_result(handle)
        state = await handle.query(DossierWorkflow.state)
        assert (state.status, state.tracking_number) == ("RESULT_READY", None)
        assert state.allowed_actions["issuer"] == ["hand_over", "redispatch"]
        last = _last_event(h, code)
        assert (last.action, last.to_status) == ("issue_result", "RESULT_READY")
        assert last.note is not None and last.note.startswith("Bưu chính từ chối nhận gửi")
        assert last.data["reason"] == "address outside the service area"

        state = await handle.execute_update(
            DossierWorkflow.redispatch,
            RedispatchInput(address="25 Phan Chu Trinh, Biên Hòa", actor=ISSUER),
        )
        assert (state.status, state.tracking_number) == ("DISPATCHED", "VN000000001")
        assert h.world.shipment_calls == [f"{code}:ship:1", f"{code}:ship:2"]


async def test_a_refund_the_gateway_refuses_still_closes_the_case(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        start = vn(2027, 1, 11, 9, 0)
        await h.travel_to(start)
        code = h.new_code()
        h.world.reject_refunds = 1
        handle = await h.start(
            dossier_input(code, start, payment_stage="on_submission", fee_amount=200_000)
        )
        await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
        await handle.signal(
            DossierWorkflow.payment_confirmed,
            PaymentConfirmedInput(
                payment_ref=payment_reference(code), amount=200_000, transaction_id="T1"
            ),
        )
        await h.env.sleep(timedelta(seconds=1))
        state = await handle.execute_update(
            DossierWorkflow.reject,
            RejectInput(reasons=["Không đủ điều kiện cấp phiếu"], actor=SPECIALIST),
        )
        assert (state.status, state.payment_status) == ("REJECTED", "refund_failed")
        assert (await handle.result()).status == "REJECTED"
        assert h.world.refund_calls == [f"{code}:refund"]
        with h.db.session() as session:
            row = session.get(Dossier, code)
            assert row is not None and row.payment_status == "refund_failed"
        assert _last_event(h, code).data["refund_error"] == "transaction too old to refund"
