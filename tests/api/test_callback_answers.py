"""The webhook routes' answers: a valid postal update for a closed case is acknowledged
(the postal service stops retrying it), and their problem bodies carry the API's titles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode

from dichvucong.integrations import signing
from dichvucong.integrations.factory import payment_merchant_code, payment_secret, postal_secret
from dichvucong.integrations.payment_gateway import OK
from dichvucong.workflows.references import payment_reference
from tests.integrations.portal import FakeTemporal, Portal

CODE = "000.00.10.H19-250301-0042"
TRACKING = "EV100000042VN"


class _GoneTemporal(FakeTemporal):
    """Temporal where the case's workflow is no longer running (or was never started)."""

    def get_workflow_handle(self, workflow_id: str) -> Any:
        return _GoneHandle()


class _GoneHandle:
    async def signal(self, name: str, arg: Any) -> None:
        raise RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b"")


class _DownTemporal(FakeTemporal):
    def get_workflow_handle(self, workflow_id: str) -> Any:
        return _DownHandle()


class _DownHandle:
    async def signal(self, name: str, arg: Any) -> None:
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Portal, httpx.AsyncClient]]:
    portal = Portal(tmp_path, 9)  # served over ASGI: the port is never opened
    transport = httpx.ASGITransport(app=portal.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http:
            yield portal, http
    finally:
        portal.db.dispose()


def _postal(portal: Portal, status: str = "delivered", *, event: str = "EV42-1",
            code: str = CODE) -> dict[str, Any]:  # fmt: skip
    body = {"event_id": event, "tracking_number": TRACKING, "dossier_code": code,
            "status": status}  # fmt: skip
    return signing.sign(body, signing.POSTAL_CALLBACK_FIELDS, postal_secret(portal.settings))


async def test_a_valid_update_for_a_closed_case_is_ignored_not_refused(
    site: tuple[Portal, httpx.AsyncClient],
) -> None:
    portal, http = site
    portal.add_dossier(CODE, status="COMPLETED")
    for _ in range(2):  # the postal service's retry too
        answer = await http.post("/api/v1/postal/callback", json=_postal(portal))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"result": "ignored"}
    assert portal.temporal.named("postal_update") == []  # nothing sent to a closed case


async def test_a_valid_update_whose_workflow_is_gone_is_ignored(
    site: tuple[Portal, httpx.AsyncClient],
) -> None:
    """The read model still shows the case dispatched (it lags behind), the workflow
    has completed: acknowledged, so that the postal service stops retrying."""
    portal, http = site
    portal.add_dossier(CODE, status="DISPATCHED")
    portal.app.state.temporal = _GoneTemporal()
    answer = await http.post("/api/v1/postal/callback", json=_postal(portal))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"result": "ignored"}


async def test_temporal_down_still_asks_for_a_retry_that_counts(
    site: tuple[Portal, httpx.AsyncClient],
) -> None:
    portal, http = site
    portal.add_dossier(CODE, status="DISPATCHED")
    fake = portal.app.state.temporal
    portal.app.state.temporal = _DownTemporal()
    down = await http.post("/api/v1/postal/callback", json=_postal(portal))
    assert down.status_code == 503
    portal.app.state.temporal = fake
    again = await http.post("/api/v1/postal/callback", json=_postal(portal))
    assert again.json() == {"result": "accepted"}
    assert [u.status for _, u in portal.temporal.named("postal_update")] == ["delivered"]


async def test_refusals_carry_the_titles_of_the_rest_of_the_api(
    site: tuple[Portal, httpx.AsyncClient],
) -> None:
    portal, http = site
    unknown = await http.post(
        "/api/v1/postal/callback", json=_postal(portal, code="000.00.10.H19-250301-NOPE")
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert unknown.json()["title"] == "Không tìm thấy"

    tampered = dict(_postal(portal), status="returned")
    refused = await http.post("/api/v1/postal/callback", json=tampered)
    assert (refused.status_code, refused.json()["title"]) == (400, "Yêu cầu không hợp lệ")

    portal.add_dossier(CODE, fee=150_000)
    paid = {"merchant_code": payment_merchant_code(portal.settings),
            "reference": payment_reference(CODE), "dossier_code": CODE, "amount": 1_000,
            "transaction_id": "GD-42", "code": OK, "status": "paid"}  # fmt: skip
    signed = signing.sign(paid, signing.PAYMENT_CALLBACK_FIELDS, payment_secret(portal.settings))
    mismatch = await http.post("/api/v1/payments/callback", json=signed)
    assert mismatch.status_code == 409
    assert mismatch.json()["code"] == "amount_mismatch"
    assert mismatch.json()["title"] == "Xung đột trạng thái"
