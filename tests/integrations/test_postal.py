"""The postal adapter and activity against the postal simulator over real HTTP,
and its signed webhooks through the callback route."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from dichvucong.activities.contracts import ShipmentRequest
from dichvucong.activities.postal import PostalActivities
from dichvucong.integrations.factory import build_postal_client
from dichvucong.integrations.postal import PostalClient, PostalRejected
from dichvucong.workflows.messages import DocumentRef, PostalUpdateInput
from tests.integrations.portal import CITIZEN_NAME, Portal

CODE = "000.00.10.H19-250301-0007"
DOC = DocumentRef(sha256="a" * 64, size=1234, media_type="application/pdf", slot="result",
                  name="giay-phep.pdf")


def _request(applicant_id: int | None, attempt: int = 1) -> ShipmentRequest:
    return ShipmentRequest(dossier_code=CODE, idempotency_key=f"{CODE}:ship:{attempt}",
                           address="12 Đường Võ Thị Sáu, Biên Hòa, Đồng Nai",
                           applicant_id=applicant_id, documents=[DOC])


def _status(portal: Portal, tracking: str, status: str) -> httpx.Response:
    return httpx.post(f"{portal.url}/_sim/postal/shipments/{tracking}/status",
                      data={"status": status}, timeout=10)


def test_dispatch_is_idempotent_on_its_key(portal: Portal) -> None:
    citizen = portal.add_citizen()
    portal.add_dossier(CODE, status="RESULT_READY", applicant_id=citizen)
    activities = PostalActivities(build_postal_client(portal.settings), portal.db)
    first = activities.dispatch_result(_request(citizen))
    # the worker crashed after the request was sent: the retry gets the same parcel
    again = activities.dispatch_result(_request(citizen))
    assert first == again
    assert first.tracking_number.startswith("EV") and first.tracking_number.endswith("VN")
    assert first.created_at.tzinfo is not None
    assert portal.postal.create_calls[f"{CODE}:ship:1"] == 2
    assert len(portal.postal.shipments) == 1
    shipment = portal.postal.shipments[first.tracking_number]
    assert (shipment.recipient, shipment.phone) == (CITIZEN_NAME, "0912345678")
    assert shipment.documents[0]["sha256"] == "a" * 64
    # a re-dispatch is a new attempt, hence a new key and a new parcel
    second = activities.dispatch_result(_request(citizen, attempt=2))
    assert second.tracking_number != first.tracking_number


def test_delivered_webhook_signals_the_workflow(portal: Portal) -> None:
    portal.add_dossier(CODE, status="DISPATCHED")
    shipment = build_postal_client(portal.settings).create_shipment(
        f"{CODE}:ship:1", "Nguyễn Văn A", "Biên Hòa", "0900000000", CODE, [DOC])
    assert _status(portal, shipment.tracking_number, "picked_up").json()["webhook_status"] == 200
    assert _status(portal, shipment.tracking_number, "delivered").json()["webhook_status"] == 200
    assert [arg for _, arg in portal.temporal.named("postal_update")] == [
        PostalUpdateInput(shipment.tracking_number, "picked_up", "Bưu tá đã nhận bưu gửi"),
        PostalUpdateInput(shipment.tracking_number, "delivered", "Đã phát thành công"),
    ]
    assert all(wid == CODE for wid, _ in portal.temporal.named("postal_update"))
    # delivered is final
    assert _status(portal, shipment.tracking_number, "returned").status_code == 409


def test_returned_webhook_signals_the_workflow(portal: Portal) -> None:
    portal.add_dossier(CODE, status="DISPATCHED")
    shipment = build_postal_client(portal.settings).create_shipment(
        f"{CODE}:ship:1", "Nguyễn Văn A", "Biên Hòa", "0900000000", CODE)
    assert _status(portal, shipment.tracking_number, "returned").status_code == 200
    [(wid, update)] = portal.temporal.named("postal_update")
    assert (wid, update.status, update.tracking_number) == (CODE, "returned",
                                                            shipment.tracking_number)


def test_replayed_and_tampered_webhooks(portal: Portal) -> None:
    portal.add_dossier(CODE, status="DISPATCHED")
    shipment = build_postal_client(portal.settings).create_shipment(
        f"{CODE}:ship:1", "A", "Biên Hòa", "", CODE)
    _status(portal, shipment.tracking_number, "delivered")
    payload = portal.postal.webhooks[-1].payload
    replay = httpx.post(f"{portal.url}/api/v1/postal/callback", json=payload)
    assert replay.json()["result"] == "already_processed"
    tampered = dict(payload, status="returned")
    refused = httpx.post(f"{portal.url}/api/v1/postal/callback", json=tampered)
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_signature")
    assert len(portal.temporal.named("postal_update")) == 1


def test_shipment_list_page(portal: Portal) -> None:
    portal.add_dossier(CODE, status="DISPATCHED")
    shipment = build_postal_client(portal.settings).create_shipment(
        f"{CODE}:ship:1", "Trần Thị Bích", "Biên Hòa", "", CODE)
    page = httpx.get(f"{portal.url}/_sim/postal/", timeout=10)
    assert page.status_code == 200
    assert shipment.tracking_number in page.text and "Trần Thị Bích" in page.text
    assert "Đã phát thành công" in page.text  # the button
    # the page's button (a browser form post) redirects back to the list
    clicked = httpx.post(f"{portal.url}/_sim/postal/shipments/{shipment.tracking_number}/status",
                         data={"status": "picked_up"}, headers={"accept": "text/html"})
    assert clicked.status_code == 303


def test_refusals(portal: Portal) -> None:
    wrong = PostalClient(f"{portal.url}/_sim/postal", "not-the-secret")
    with pytest.raises(PostalRejected):
        wrong.create_shipment("k", "A", "Biên Hòa", "", CODE)
    activities = PostalActivities(build_postal_client(portal.settings))
    with pytest.raises(ApplicationError) as failure:
        activities.dispatch_result(ShipmentRequest(CODE, "k2", "  ", None))
    assert failure.value.non_retryable
    assert portal.postal.shipments == {}


def test_a_webhook_that_could_not_reach_temporal_counts_when_retried(
    portal: Portal, free_port: Callable[..., int]
) -> None:
    """Temporal unreachable when the API first connects (not an RPC error): 503, and the
    postal service's retry of the same event is processed, not taken for a replay."""
    portal.add_dossier(CODE, status="DISPATCHED")
    shipment = build_postal_client(portal.settings).create_shipment(
        f"{CODE}:ship:1", "A", "Biên Hòa", "", CODE)
    fake = portal.app.state.temporal
    portal.app.state.temporal = None  # the API connects on first use...
    portal.settings.temporal_address = f"127.0.0.1:{free_port()}"  # ...and nobody listens
    _status(portal, shipment.tracking_number, "delivered")
    payload = portal.postal.webhooks[-1].payload
    assert portal.postal.webhooks[-1].status_code == 503
    portal.app.state.temporal = fake  # Temporal is back
    retried = httpx.post(f"{portal.url}/api/v1/postal/callback", json=payload, timeout=10)
    assert retried.json()["result"] == "accepted"
    assert [u.status for _, u in portal.temporal.named("postal_update")] == ["delivered"]
