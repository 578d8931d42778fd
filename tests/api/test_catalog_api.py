"""GET /api/v1/procedures, /procedures/{code}, /agencies on a tiny app."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dichvucong.api.problems import install_problem_handlers
from dichvucong.api.routes.catalog import router
from dichvucong.catalog import load_catalog


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.state.catalog = load_catalog()
    install_problem_handlers(app)
    app.include_router(router, prefix="/api/v1")
    return TestClient(app)


def test_list_all_procedures(client: TestClient) -> None:
    body = client.get("/api/v1/procedures").json()
    assert body["total"] == len(load_catalog().procedures) == len(body["items"])
    item = next(i for i in body["items"] if i["code"] == "ly-lich-tu-phap")
    assert item["national_code"] == "2.000488"
    assert item["time_limit"]["days"] == 10
    assert item["time_limit_text"] == "10 ngày làm việc"
    assert item["fee_text"].startswith("200.000 đ")
    assert item["accepts_online"] is True


def test_filters_and_search(client: TestClient) -> None:
    body = client.get("/api/v1/procedures", params={"admin_level": "commune"}).json()
    assert body["total"] > 0 and {i["admin_level"] for i in body["items"]} == {"commune"}
    body = client.get("/api/v1/procedures", params={"q": "ly lich tu phap"}).json()
    assert [i["code"] for i in body["items"]] == ["ly-lich-tu-phap"]
    body = client.get(
        "/api/v1/procedures", params={"service_level": "2", "agency": "000.00.12.H19"}
    ).json()
    assert [i["service_level"] for i in body["items"]] == ["2"]
    body = client.get("/api/v1/procedures", params={"field": "Chứng thực"}).json()
    assert body["total"] == 2


def test_invalid_filter_is_a_problem(client: TestClient) -> None:
    response = client.get("/api/v1/procedures", params={"admin_level": "village"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_procedure_detail(client: TestClient) -> None:
    response = client.get("/api/v1/procedures/ly-lich-tu-phap")
    assert response.status_code == 200
    body = response.json()
    assert body["agency_details"] == [
        {
            "code": "000.00.12.H19",
            "name": "Sở Tư pháp tỉnh Đồng Nai",
            "admin_level": "province",
            "parent_code": None,
        }
    ]
    assert body["fee"]["kind"] == "per_copy" and body["fee"]["base_amount"] == 200000
    assert [s["role"] for s in body["steps"]] == ["specialist", "leader", "issuer"]
    assert body["payment_stage"] == "on_submission"
    assert body["delivery_options"] == ["online", "postal", "counter"]
    assert any(f["key"] == "so_ban" and f["type"] == "number" for f in body["form_fields"])
    assert body["documents"][0]["accepted_types"] == ["application/pdf", "image/jpeg"]
    assert body["legal_basis"] and body["downloadable_forms"]


def test_unknown_procedure_is_404_problem(client: TestClient) -> None:
    response = client.get("/api/v1/procedures/khong-co")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "procedure_not_found"
    assert body["detail"].startswith("Không tìm thấy thủ tục")


def test_agencies(client: TestClient) -> None:
    items = client.get("/api/v1/agencies").json()["items"]
    assert len(items) == len(load_catalog().agencies)
    communes = client.get("/api/v1/agencies", params={"admin_level": "commune"}).json()["items"]
    assert communes and all(a["admin_level"] == "commune" for a in communes)


def test_openapi_is_typed(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    ok = schema["paths"]["/api/v1/procedures/{code}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/ProcedureDetail")
    assert "ProcedureList" in schema["components"]["schemas"]
