"""The payment adapter against the gateway simulator over real HTTP, and the
callback route receiving the simulator's signed callbacks."""

from __future__ import annotations

import logging

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from dichvucong.activities.contracts import PaymentQuery, RefundRequest
from dichvucong.activities.payments import PaymentActivities
from dichvucong.integrations import signing
from dichvucong.integrations.factory import build_payment_client
from dichvucong.integrations.payment_gateway import (
    GatewayError,
    GatewayRejected,
    PaymentGatewayClient,
    start_payment,
)
from dichvucong.workflows.messages import PaymentConfirmedInput
from dichvucong.workflows.references import payment_reference
from tests.integrations.portal import CITIZEN_NAME, Portal

CODE = "000.00.10.H19-250301-0001"
REF = payment_reference(CODE)
LINES = [{"name": "Lệ phí cấp giấy phép", "amount": 150_000}]


def _init(portal: Portal, amount: int = 150_000, code: str = CODE) -> str:
    client = build_payment_client(portal.settings)
    return client.init(payment_reference(code), amount, LINES,
                       f"{portal.url}/ho-so/{code}", dossier_code=code)


def _pay(url: str, action: str = "pay") -> httpx.Response:
    return httpx.post(url, data={"action": action}, follow_redirects=False, timeout=10)


def test_happy_path_init_page_pay_callback_signal(portal: Portal) -> None:
    portal.add_dossier(CODE)
    url = _init(portal)
    assert url.startswith(f"{portal.url}/_sim/payment/pay/{REF}")

    page = httpx.get(url, timeout=10)
    assert page.status_code == 200
    assert "150.000 đ" in page.text and "Thanh toán" in page.text and "Hủy giao dịch" in page.text

    done = _pay(url)
    assert done.status_code == 303
    assert done.headers["location"] == f"{portal.url}/ho-so/{CODE}?payment=paid"

    payment = portal.payments.payments[REF]
    assert portal.payments.callbacks[-1].status_code == 200
    assert portal.temporal.signals == [(CODE, "payment_confirmed", PaymentConfirmedInput(
        payment_ref=REF, amount=150_000, transaction_id=payment.transaction_id))]


def test_init_is_idempotent_and_nothing_is_paid_twice(portal: Portal) -> None:
    portal.add_dossier(CODE)
    first = _init(portal)
    assert _init(portal) == first  # a retried INIT: the same payment
    assert len(portal.payments.payments) == 1
    assert portal.payments.init_calls[REF] == 2
    assert _pay(first).status_code == 303
    assert _pay(first).status_code == 409  # a second click on the paid page
    assert _init(portal) == first
    assert portal.payments.charges[REF] == 1
    assert len(portal.temporal.named("payment_confirmed")) == 1


async def test_start_payment_for_a_dossier_row(portal: Portal) -> None:
    dossier = portal.add_dossier(CODE)
    url = await start_payment(portal.settings, dossier)
    assert url == f"{portal.url}/_sim/payment/pay/{REF}"
    payment = portal.payments.payments[REF]
    assert (payment.amount, payment.dossier_code) == (150_000, CODE)
    assert payment.return_url == f"{portal.url}/ho-so/{CODE}?thanh-toan=1"
    assert await start_payment(portal.settings, dossier) == url


async def test_start_payment_refuses_paid_or_not_awaiting(portal: Portal) -> None:
    from dichvucong.api.problems import Conflict

    paid = portal.add_dossier(CODE, payment_status="paid")
    with pytest.raises(Conflict):
        await start_payment(portal.settings, paid)
    other = portal.add_dossier("X-2", status="PROCESSING")
    with pytest.raises(Conflict):
        await start_payment(portal.settings, other)


def test_cancel_sends_no_signal(portal: Portal) -> None:
    portal.add_dossier(CODE)
    url = _init(portal)
    done = _pay(url, "cancel")
    assert done.headers["location"].endswith("payment=cancelled")
    assert portal.payments.callbacks[-1].status_code == 200  # acknowledged
    assert portal.temporal.signals == []
    status = build_payment_client(portal.settings).query(REF)
    assert status.status == "cancelled"
    # the citizen may try again: the same reference opens the same payment again
    assert _init(portal) == url
    assert _pay(url).status_code == 303
    assert len(portal.temporal.named("payment_confirmed")) == 1


def test_tampered_callback_is_refused_and_logged_without_personal_data(
        portal: Portal, caplog: pytest.LogCaptureFixture) -> None:
    portal.add_dossier(CODE)
    portal.payments.send_callbacks = False
    _pay(_init(portal))
    payload = portal.payments.callback_payload(portal.payments.payments[REF])
    payload["amount"] = 1_000  # changed after signing
    with caplog.at_level(logging.INFO, logger="dichvucong.callbacks"):
        response = httpx.post(f"{portal.url}/api/v1/payments/callback", json=payload)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_signature"
    assert portal.temporal.signals == []
    assert "bad_check" in caplog.text
    assert CITIZEN_NAME not in caplog.text

    forged = dict(payload, amount=150_000, check="0" * 64)
    assert httpx.post(f"{portal.url}/api/v1/payments/callback", json=forged).status_code == 400
    unsigned = {k: v for k, v in payload.items() if k != "check"}
    assert httpx.post(f"{portal.url}/api/v1/payments/callback", json=unsigned).status_code == 400
    assert httpx.post(f"{portal.url}/api/v1/payments/callback", content=b"{not json",
                      headers={"content-type": "application/json"}).status_code == 400
    assert portal.temporal.signals == []


def test_wrong_amount_is_refused(portal: Portal) -> None:
    portal.add_dossier(CODE, fee=200_000)
    _pay(_init(portal, amount=150_000))  # the gateway charged less than the fee
    attempt = portal.payments.callbacks[-1]
    assert attempt.status_code == 409
    assert portal.temporal.signals == []


def test_reference_of_another_dossier_is_refused(portal: Portal) -> None:
    portal.add_dossier(CODE)
    portal.add_dossier("000.00.10.H19-250301-0002")
    portal.payments.send_callbacks = False
    _pay(_init(portal))
    payload = portal.payments.callback_payload(portal.payments.payments[REF])
    payload["dossier_code"] = "000.00.10.H19-250301-0002"
    resigned = signing.sign(payload, signing.PAYMENT_CALLBACK_FIELDS, portal.payments.secret)
    response = httpx.post(f"{portal.url}/api/v1/payments/callback", json=resigned)
    assert (response.status_code, response.json()["code"]) == (400, "reference_mismatch")
    assert portal.temporal.signals == []


def test_replayed_callback_acts_once(portal: Portal) -> None:
    portal.add_dossier(CODE)
    _pay(_init(portal))
    resend = f"{portal.url}/_sim/payment/callbacks/{REF}/resend"
    assert httpx.post(resend).json()["status_code"] == 200
    payload = portal.payments.callbacks[-1].payload
    again = httpx.post(f"{portal.url}/api/v1/payments/callback", json=payload)
    assert again.json()["result"] == "already_processed"
    assert len(portal.temporal.named("payment_confirmed")) == 1

    # Another API process (nothing in memory) sees the read model already paid.
    portal.app.state.payment_callbacks_seen = None
    portal.set_payment_status(CODE, "paid")
    assert httpx.post(f"{portal.url}/api/v1/payments/callback",
                      json=payload).json()["result"] == "already_processed"
    assert len(portal.temporal.named("payment_confirmed")) == 1


def test_lost_callback_is_healed_by_query(portal: Portal) -> None:
    portal.add_dossier(CODE)
    activities = PaymentActivities(build_payment_client(portal.settings))
    assert activities.query_payment(PaymentQuery(CODE, REF)).status == "not_found"
    portal.payments.send_callbacks = False
    url = _init(portal)
    assert activities.query_payment(PaymentQuery(CODE, REF)).status == "pending"
    _pay(url)
    assert portal.temporal.signals == []  # the callback was lost
    status = activities.query_payment(PaymentQuery(CODE, REF))
    assert status.status == "paid"
    assert status.amount == 150_000
    assert status.transaction_id == portal.payments.payments[REF].transaction_id


def test_expired_payment_is_reported_by_query(portal: Portal) -> None:
    portal.add_dossier(CODE)
    _init(portal)
    portal.payments.expire(REF)
    assert build_payment_client(portal.settings).query(REF).status == "expired"


def test_refund_is_idempotent_on_its_key(portal: Portal) -> None:
    portal.add_dossier(CODE)
    _pay(_init(portal))
    activities = PaymentActivities(build_payment_client(portal.settings))
    request = RefundRequest(dossier_code=CODE, idempotency_key=f"{CODE}:refund", payment_ref=REF,
                            amount=150_000, reason="Từ chối giải quyết")
    first = activities.request_refund(request)
    # a worker crash after "request sent": the retry gets the same refund back
    again = activities.request_refund(request)
    assert first == again
    assert first.status == "accepted" and first.refund_ref.startswith("RF")
    assert portal.payments.refund_calls[f"{CODE}:refund"] == 2
    assert len(portal.payments.refunds) == 1
    assert portal.payments.payments[REF].refunded == 150_000


def test_refund_of_an_unpaid_payment_is_a_non_retryable_failure(portal: Portal) -> None:
    portal.add_dossier(CODE)
    _init(portal)
    activities = PaymentActivities(build_payment_client(portal.settings))
    with pytest.raises(ApplicationError) as failure:
        activities.request_refund(RefundRequest(CODE, "k1", REF, 150_000, "x"))
    assert failure.value.non_retryable


def test_wrong_secret_is_refused_by_the_gateway(portal: Portal) -> None:
    client = PaymentGatewayClient(f"{portal.url}/_sim/payment", "DVC-DONGNAI", "wrong")
    with pytest.raises(GatewayRejected) as refused:
        client.query(REF)
    assert refused.value.code == "03"


def test_unreachable_gateway_is_a_retryable_error(free_port) -> None:  # type: ignore[no-untyped-def]
    client = PaymentGatewayClient(f"http://127.0.0.1:{free_port()}", "M", "s", timeout=2)
    with pytest.raises(GatewayError) as error:
        client.query(REF)
    assert not isinstance(error.value, GatewayRejected)


def test_check_field_is_sha256_over_pipe_joined_fields_and_secret() -> None:
    import hashlib

    expected = hashlib.sha256(b"M|DVCX|150000|s3cret").hexdigest()
    assert signing.check_value(["M", "DVCX", 150000], "s3cret") == expected
    payload = signing.sign({"merchant_code": "M", "reference": "DVCX"}, signing.QUERY_FIELDS, "k")
    assert signing.verify(payload, signing.QUERY_FIELDS, "k")
    assert not signing.verify(payload, signing.QUERY_FIELDS, "other")
    assert not signing.verify(dict(payload, check=payload["check"].upper() + "0"),
                              signing.QUERY_FIELDS, "k")


async def test_many_callbacks_at_once_all_reach_their_cases(portal: Portal) -> None:
    """More concurrent callbacks than the database pool has connections, each waiting on
    a slow signal: no route may hold a connection across that wait, or block the event
    loop waiting for one (that deadlocked the API until the pool timeout, then 500s)."""
    import asyncio

    codes = [f"000.00.10.H19-250301-{n:04d}" for n in range(100, 124)]  # pool: 5 + 10
    payloads = []
    portal.payments.send_callbacks = False
    for code in codes:
        portal.add_dossier(code)
        assert _pay(_init(portal, code=code)).status_code == 303
        payloads.append(portal.payments.callback_payload(
            portal.payments.payments[payment_reference(code)]))  # fmt: skip
    portal.temporal.signal_seconds = 0.3
    async with httpx.AsyncClient(timeout=120) as http:
        answers = await asyncio.gather(*(
            http.post(f"{portal.url}/api/v1/payments/callback", json=p) for p in payloads))  # fmt: skip
    assert [a.status_code for a in answers] == [200] * len(codes)
    assert {a.json()["result"] for a in answers} == {"accepted"}
    assert sorted(wid for wid, _ in portal.temporal.named("payment_confirmed")) == codes
