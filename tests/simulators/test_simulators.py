"""The simulators' own pages and refusals (the adapters' flows are in tests/integrations)."""

from __future__ import annotations

import httpx

from dichvucong.integrations import signing
from dichvucong.integrations.factory import build_outside_activities, build_payment_client
from tests.integrations.portal import Portal


def test_payment_page_of_unknown_reference_is_404(portal: Portal) -> None:
    response = httpx.get(f"{portal.url}/_sim/payment/pay/DVCNOPE")
    assert response.status_code == 404 and "Không tìm thấy" in response.text


def test_payment_page_shows_lines_and_state(portal: Portal) -> None:
    client = build_payment_client(portal.settings)
    url = client.init("DVCABC1", 250_000, [{"name": "Phí thẩm định", "amount": 200_000},
                                           {"name": "Lệ phí cấp", "amount": 50_000}],
                      "http://back/ho-so/ABC-1", dossier_code="ABC-1")
    page = httpx.get(url).text
    assert '<html lang="vi">' in page
    assert "Phí thẩm định: 200.000 đ" in page and "250.000 đ" in page and "ABC-1" in page
    assert httpx.post(url, data={"action": "steal"}).status_code == 400
    httpx.post(url, data={"action": "pay"})
    assert "đã thanh toán thành công" in httpx.get(url).text


def test_gateway_refuses_unsigned_or_foreign_requests(portal: Portal) -> None:
    body = {"merchant_code": "DVC-DONGNAI", "reference": "DVCX"}
    unsigned = httpx.post(f"{portal.url}/_sim/payment/query", json=body)
    assert (unsigned.status_code, unsigned.json()["code"]) == (400, "03")
    foreign = signing.sign(dict(body, merchant_code="OTHER"), signing.QUERY_FIELDS,
                           portal.payments.secret)
    assert httpx.post(f"{portal.url}/_sim/payment/query", json=foreign).json()["code"] == "02"
    bad_init = signing.sign({"merchant_code": "DVC-DONGNAI", "reference": "DVC-X!",
                             "dossier_code": "X", "amount": 10, "return_url": "http://x"},
                            signing.INIT_FIELDS, portal.payments.secret)
    assert httpx.post(f"{portal.url}/_sim/payment/init", json=bad_init).json()["code"] == "02"


def test_postal_page_empty_and_unknown_shipment(portal: Portal) -> None:
    page = httpx.get(f"{portal.url}/_sim/postal/")
    assert page.status_code == 200 and "Chưa có bưu gửi." in page.text
    assert httpx.get(f"{portal.url}/_sim/postal/shipments/EV1VN").status_code == 404
    assert httpx.post(f"{portal.url}/_sim/postal/shipments/EV1VN/status",
                      data={"status": "delivered"}).status_code == 409


def test_dev_mail_page_is_mounted(portal: Portal) -> None:
    page = httpx.get(f"{portal.url}/_dev/mail")
    assert page.status_code == 200 and "Chưa có thư nào." in page.text


def test_outside_activities_are_registered_by_the_workflow_names(portal: Portal) -> None:
    from temporalio.activity import _Definition

    names = {_Definition.must_from_callable(fn).name
             for fn in build_outside_activities(portal.settings, portal.db)}
    assert names == {"dispatch_result", "request_refund", "query_payment"}
