"""A citizen who pays at the counter with the gateway's page still open, then pays
there too: the case keeps its counter payment and goes on, and the online payment is
refunded through the gateway, once, visibly on the timeline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from dichvucong.db.models import Dossier, DossierEvent
from dichvucong.workflows import patches
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import AcceptInput, CounterPaymentInput, PaymentConfirmedInput
from dichvucong.workflows.references import payment_reference

from .harness import Harness, dossier_input, harness, vn
from .test_audit_decision_inputs import _replays
from .test_dossier_lifecycle import RECEPTION

FEE = 200_000


def _mismatches(h: Harness, code: str) -> list[DossierEvent]:
    with h.db.session() as session:
        return list(
            session.exec(
                select(DossierEvent)
                .where(DossierEvent.dossier_code == code, DossierEvent.action == "payment_mismatch")
                .order_by(DossierEvent.seq)  # type: ignore[arg-type]
            ).all()
        )


async def _paid_at_counter(h: Harness, patch_ids: list[str]) -> tuple[str, object]:
    start = vn(2027, 1, 11, 9, 0)
    await h.travel_to(start)
    code = h.new_code()
    inp = dossier_input(code, start, payment_stage="on_submission", fee_amount=FEE)
    inp.patches = patch_ids
    handle = await h.start(inp)
    await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
    state = await handle.execute_update(
        DossierWorkflow.record_counter_payment,
        CounterPaymentInput(receipt_no="BL-0042", amount=FEE, actor=RECEPTION),
    )
    assert (state.status, state.payment_status) == ("PROCESSING", "paid")
    return code, handle


async def _online_payment(handle: object, code: str, transaction: str) -> None:
    await handle.signal(  # type: ignore[attr-defined]
        DossierWorkflow.payment_confirmed,
        PaymentConfirmedInput(
            payment_ref=payment_reference(code), amount=FEE, transaction_id=transaction
        ),
    )


async def test_online_payment_after_the_counter_is_refunded_once(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        code, handle = await _paid_at_counter(h, list(patches.KNOWN))
        await _online_payment(handle, code, "T-ONLINE")
        await h.env.sleep(timedelta(seconds=1))
        # The gateway retries (another API replica did not see the first callback).
        await _online_payment(handle, code, "T-ONLINE")
        await h.env.sleep(timedelta(seconds=1))

        assert h.world.refund_calls == [f"{code}:double-refund"]
        state = await handle.query(DossierWorkflow.state)  # type: ignore[attr-defined]
        assert (state.status, state.payment_status) == ("PROCESSING", "paid")
        with h.db.session() as session:
            row = session.get(Dossier, code)
            assert row is not None
            assert (row.payment_status, row.payment_method) == ("paid", "counter")
        first, second = _mismatches(h, code)
        assert first.data["reason"] == "paid_at_counter"
        assert first.data["refund_ref"] == next(iter(h.world.refunds.values())).refund_ref
        assert "đã nộp phí, lệ phí tại quầy" in (first.note or "")
        assert "refund_ref" not in second.data  # the retry is recorded, not refunded
        await _replays(handle)  # type: ignore[arg-type]


async def test_the_gateway_refusing_the_refund_leaves_it_to_the_accountant(
    tmp_path: Path,
) -> None:
    async with harness(tmp_path) as h, h.worker():
        h.world.reject_refunds = 1
        code, handle = await _paid_at_counter(h, list(patches.KNOWN))
        await _online_payment(handle, code, "T-ONLINE")
        await h.env.sleep(timedelta(seconds=1))
        (event,) = _mismatches(h, code)
        assert "transaction too old" in event.data["refund_error"]
        assert "Kế toán" in (event.note or "")
        state = await handle.query(DossierWorkflow.state)  # type: ignore[attr-defined]
        assert (state.status, state.payment_status) == ("PROCESSING", "paid")


async def test_a_case_started_before_the_change_takes_it_with_a_marker(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        before = [p for p in patches.KNOWN if p != patches.DOUBLE_PAYMENT_REFUND]
        code, handle = await _paid_at_counter(h, before)
        # A case of the previous release that meets the change while running takes it,
        # with a marker in its history, and its history replays.
        await _online_payment(handle, code, "T-ONLINE")
        await h.env.sleep(timedelta(seconds=1))
        assert h.world.refund_calls == [f"{code}:double-refund"]
        history = await handle.fetch_history()  # type: ignore[attr-defined]
        assert any(e.HasField("marker_recorded_event_attributes") for e in history.events)
        await _replays(handle)  # type: ignore[arg-type]
