"""The expiry the API tells the gateway (``expire_at``) is the case's own: the moment
the workflow planned with the rules and calendar it had when it entered
AWAITING_PAYMENT, stated in that transition's data, not one planned again with
today's settings and calendar (the gateway would close before the case, or after it
had withdrawn the case and still take payments)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlmodel import select

from dichvucong.calendar import WorkCalendar
from dichvucong.db.models import DossierEvent
from dichvucong.integrations.payment_expiry import payment_expiry
from dichvucong.settings import Settings
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import AcceptInput, CaseRules
from tests.workflows.harness import Harness, dossier_input, harness, vn
from tests.workflows.test_dossier_lifecycle import RECEPTION

START = vn(2027, 1, 11, 9, 0)  # Monday


async def _awaiting(h: Harness, rules: CaseRules) -> tuple[str, object]:
    await h.travel_to(START)
    code = h.new_code()
    handle = await h.start(dossier_input(code, START, payment_stage="on_submission",
                                         fee_amount=200_000, rules=rules))
    state = await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
    assert state.status == "AWAITING_PAYMENT"
    return code, handle


def _withdrawn_at(h: Harness, code: str):  # type: ignore[no-untyped-def]
    with h.db.session() as session:
        (event,) = session.exec(select(DossierEvent).where(
            DossierEvent.dossier_code == code, DossierEvent.action == "payment_expired")).all()
    return event.at.replace(microsecond=0)


async def test_gateway_expiry_follows_the_case_rules_not_todays_settings(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        # The case was started when payments could wait 10 working days...
        code, handle = await _awaiting(h, CaseRules(payment_expiry_days=10))
        # ...and the API now runs with the default 5.
        settings = Settings(environment="test", database_url=h.db.url, var_dir=tmp_path)
        told = payment_expiry(settings, code, db=h.db, calendar=h.calendar)
        await h.env.sleep(timedelta(days=20))
        assert (await handle.result()).status == "WITHDRAWN"
        closed = _withdrawn_at(h, code)
        assert closed == vn(2027, 1, 25, 9, 0)
        # Expected: the gateway stops at most a minute before the case (18/01 vs 25/01).
        assert told is not None and closed - timedelta(minutes=5) <= told <= closed, (
            f"gateway told {told.astimezone(START.tzinfo)}, case closed "
            f"{closed.astimezone(START.tzinfo)}")


async def test_gateway_expiry_follows_the_calendar_the_case_planned_with(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        code, handle = await _awaiting(h, CaseRules())
        # A day off is announced afterwards (Friday 15/01); the API's calendar learns it.
        announced = WorkCalendar(extra_days_off=[date(2027, 1, 15)])
        settings = Settings(environment="test", database_url=h.db.url, var_dir=tmp_path)
        told = payment_expiry(settings, code, db=h.db, calendar=announced)
        await h.env.sleep(timedelta(days=20))
        assert (await handle.result()).status == "WITHDRAWN"
        closed = _withdrawn_at(h, code)
        assert closed == vn(2027, 1, 18, 9, 0)
        # Expected: never later than the case (else a withdrawn case is still paid for).
        assert told is not None and told <= closed, (
            f"gateway told {told.astimezone(START.tzinfo)}, case closed "
            f"{closed.astimezone(START.tzinfo)}")
