"""INIT tells the gateway when the case stops expecting the payment (``expire_at``),
and the gateway simulator takes no payment after that moment."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from dichvucong.api.problems import Conflict
from dichvucong.calendar import WorkCalendar
from dichvucong.db.models import Dossier, DossierEvent
from dichvucong.integrations import signing
from dichvucong.integrations.factory import build_payment_client
from dichvucong.integrations.payment_expiry import expiry_from_events
from dichvucong.integrations.payment_gateway import INIT_FIELDS, start_payment
from dichvucong.workflows.references import payment_reference
from tests.integrations.portal import Portal
from tests.workflows.harness import vn

CODE = "000.00.10.H19-270111-0001"
REF = payment_reference(CODE)


def _event(seq: int, at: datetime, action: str, from_status: str | None,
           to_status: str) -> DossierEvent:
    return DossierEvent(dossier_code=CODE, seq=seq, at=at, actor="system", action=action,
                        from_status=from_status, to_status=to_status, data={})


def _awaiting_since(portal: Portal, at: datetime) -> None:
    """A dossier whose case entered AWAITING_PAYMENT at ``at`` (as the workflow records it)."""
    portal.add_dossier(CODE)
    with portal.db.session() as session:
        session.add(_event(0, at, "submit", None, "SUBMITTED"))
        session.add(_event(1, at, "accept", "SUBMITTED", "AWAITING_PAYMENT"))
        session.commit()


async def test_init_carries_the_expiry_and_no_payment_is_taken_after_it(portal: Portal) -> None:
    # Monday 11/01/2027 09:00 + 5 working days = Monday 18/01 09:00; told a minute early.
    _awaiting_since(portal, vn(2027, 1, 11, 9, 0))
    with portal.db.session() as session:
        dossier = session.get(Dossier, CODE)
    url = await start_payment(portal.settings, dossier)
    payment = portal.payments.payments[REF]
    assert payment.expires_at == vn(2027, 1, 18, 8, 59)

    portal.payments.clock = lambda: vn(2027, 1, 18, 8, 59)  # the gateway's clock reaches it
    page = httpx.get(url, timeout=10)
    assert "Giao dịch đã hết hạn." in page.text and 'value="pay"' not in page.text
    paid = httpx.post(url, data={"action": "pay"}, follow_redirects=False, timeout=10)
    assert paid.status_code == 409
    assert portal.payments.charges[REF] == 0
    assert portal.payments.callbacks == [] and portal.temporal.signals == []
    assert build_payment_client(portal.settings).query(REF).status == "expired"


async def test_no_payment_page_once_the_expiry_has_passed(portal: Portal) -> None:
    _awaiting_since(portal, vn(2026, 1, 5, 9, 0))  # expired long ago by the real clock
    with portal.db.session() as session:
        dossier = session.get(Dossier, CODE)
    with pytest.raises(Conflict) as refused:
        await start_payment(portal.settings, dossier)
    assert refused.value.code == "payment_expired"
    assert portal.payments.init_calls[REF] == 0


def test_the_expiry_is_signed_and_a_past_one_is_refused(portal: Portal) -> None:
    body = {"merchant_code": portal.payments.merchant_code, "reference": REF,
            "dossier_code": CODE, "amount": 150_000, "return_url": "http://x",
            "expire_at": "2027-01-18T08:59:00+07:00"}
    signed = signing.sign(body, INIT_FIELDS, portal.payments.secret)
    stretched = dict(signed, expire_at="2027-12-31T08:59:00+07:00")
    answer = httpx.post(f"{portal.url}/_sim/payment/init", json=stretched, timeout=10)
    assert answer.json()["code"] == "03"  # the check field covers expire_at
    past = signing.sign(dict(body, expire_at="2026-01-01T00:00:00+07:00"), INIT_FIELDS,
                        portal.payments.secret)
    answer = httpx.post(f"{portal.url}/_sim/payment/init", json=past, timeout=10)
    assert answer.json()["code"] == "02" and REF not in portal.payments.payments
    assert httpx.post(f"{portal.url}/_sim/payment/init", json=signed,
                      timeout=10).json()["code"] == "00"


def test_no_expiry_once_a_payment_before_the_result_has_expired() -> None:
    start = vn(2027, 1, 11, 9, 0)
    events = [_event(0, start, "submit", None, "SUBMITTED"),
              _event(5, start, "approve", "PROCESSING", "AWAITING_PAYMENT")]
    assert expiry_from_events(events, calendar=WorkCalendar(), days=5) == vn(2027, 1, 18, 8, 59)
    # Before the result, the case keeps waiting past its expiry (counter or a new payment).
    events.append(_event(6, vn(2027, 1, 18, 9, 0), "payment_expired", "AWAITING_PAYMENT",
                         "AWAITING_PAYMENT"))
    assert expiry_from_events(events, calendar=WorkCalendar(), days=5) is None
