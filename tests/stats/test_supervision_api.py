"""Supervision routes on a tiny app: stats, reports, feedback, the dashboard page."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import select
from temporalio.service import RPCError, RPCStatusCode

from dichvucong.accounts.principal import Principal
from dichvucong.api.deps import optional_principal
from dichvucong.api.problems import install_problem_handlers
from dichvucong.api.routes import supervision, supervision_pages
from dichvucong.calendar import WorkCalendar
from dichvucong.catalog import load_catalog
from dichvucong.db.engine import Database
from dichvucong.feedback.messages import FeedbackState
from dichvucong.feedback.models import Feedback
from dichvucong.settings import Settings

from .known_data import A, B, make_db

PROVINCE_SUPERVISOR = Principal(
    kind="official", id=1, name="Giám sát tỉnh", agency_code=A, roles=("supervisor",)
)
B_SUPERVISOR = Principal(
    kind="official", id=2, name="Giám sát Biên Hòa", agency_code=B, roles=("supervisor",)
)
B_OFFICIAL = Principal(
    kind="official", id=3, name="Chuyên viên", agency_code=B, roles=("specialist",)
)
CITIZEN = Principal(kind="citizen", id=42, name="Nguyễn Văn A")


@dataclass
class FakeHandle:
    client: FakeTemporal
    id: str

    async def execute_update(self, name: str, arg: Any, result_type: Any = None) -> FeedbackState:
        if self.client.down:
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
        self.client.updates.append((self.id, name, arg))
        return FeedbackState(
            code=self.id,
            status="ANSWERED",
            due_at=None,
            warn_at=None,
            overdue=False,
            answered_by=arg.official_id,
            published=arg.publish,
        )


@dataclass
class FakeTemporal:
    started: list[tuple[str, Any, str, str]] = field(default_factory=list)
    updates: list[tuple[str, str, Any]] = field(default_factory=list)
    down: bool = False  # every call refused as by an unreachable frontend

    async def start_workflow(self, workflow: str, arg: Any, *, id: str, task_queue: str) -> None:
        if self.down:
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
        self.started.append((workflow, arg, id, task_queue))

    def get_workflow_handle(self, workflow_id: str) -> FakeHandle:
        return FakeHandle(self, workflow_id)


def supervision_app(tmp_path: Path, db: Database) -> FastAPI:
    """The supervision API and pages over ``db``, with a recording Temporal client."""
    app = FastAPI()
    app.state.settings = Settings(database_url=db.url, var_dir=tmp_path, task_queue="dossiers")
    app.state.db = db
    app.state.catalog = load_catalog()
    app.state.calendar = WorkCalendar()
    app.state.temporal = FakeTemporal()
    install_problem_handlers(app)
    app.include_router(supervision.router, prefix="/api/v1")
    app.include_router(supervision_pages.router)
    return app


@pytest.fixture
def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = make_db(tmp_path)
    app = supervision_app(tmp_path, db)
    who: dict[str, Principal | None] = {"p": PROVINCE_SUPERVISOR}
    app.dependency_overrides[optional_principal] = lambda: who["p"]
    yield TestClient(app), who, app.state.temporal, db
    db.dispose()


def test_stats_province_and_scoped(env) -> None:  # type: ignore[no-untyped-def]
    client, who, _, _ = env
    body = client.get("/api/v1/stats", params={"from": "2027-04-01", "to": "2027-06-30"}).json()
    assert body["scope"] == "province"
    assert body["total"]["received"] == 11 and body["total"]["resolved"] == 7
    assert body["total"]["on_time_rate"] == pytest.approx(5 / 7, abs=1e-6)
    assert len(body["agencies"]) == len(load_catalog().agencies)

    who["p"] = B_SUPERVISOR
    body = client.get("/api/v1/stats", params={"from": "2027-04-01", "to": "2027-06-30"}).json()
    assert body["scope"] == "agency" and [a["code"] for a in body["agencies"]] == [B]
    assert body["total"]["received"] == 1
    denied = client.get("/api/v1/stats", params={"agency": A})
    assert denied.status_code == 403 and denied.json()["code"] == "agency_out_of_scope"

    who["p"] = B_OFFICIAL
    assert client.get("/api/v1/stats").status_code == 403
    who["p"] = None
    assert client.get("/api/v1/stats").status_code == 401


def test_reports_download(env) -> None:  # type: ignore[no-untyped-def]
    client, who, _, _ = env
    r = client.get("/api/v1/reports", params={"year": 2027, "quarter": 2, "format": "xlsx"})
    assert r.status_code == 200
    assert 'filename="bao-cao-2027-q2.xlsx"' in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert wb["Toàn tỉnh"]["C6"].value == 11
    r = client.get("/api/v1/reports", params={"year": 2027, "quarter": 2, "format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    assert "Tổng số hồ sơ tiếp nhận" in r.content.decode("utf-8-sig")
    r = client.get("/api/v1/reports", params={"year": 2027, "quarter": 2, "format": "html"})
    assert r.status_code == 200 and "Quý II năm 2027" in r.text and "Toàn tỉnh" in r.text
    assert "Tỷ lệ đồng bộ lên Cổng DVC quốc gia</td>" in r.text and "63,64 %" in r.text
    assert "Tỷ lệ trực tuyến (tính theo Quyết định 766: × tỷ lệ đồng bộ)</td>" in r.text
    who["p"] = B_SUPERVISOR
    wb = load_workbook(
        io.BytesIO(client.get("/api/v1/reports", params={"year": 2027, "quarter": 2}).content)
    )
    assert wb.sheetnames == [B]


def test_feedback_from_a_visitor_needs_contact_details(env) -> None:  # type: ignore[no-untyped-def]
    client, who, temporal, _ = env
    who["p"] = None
    payload = {
        "kind": "question",
        "subject": "Thời hạn cấp phiếu",
        "body": "Bao lâu thì có kết quả?",
        "procedure_code": "ly-lich-tu-phap",
    }
    r = client.post("/api/v1/feedback", json=payload)
    assert r.status_code == 400 and r.json()["code"] == "contact_required"
    r = client.post(
        "/api/v1/feedback",
        json={**payload, "contact_name": "Trần B", "contact_email": "b@example.vn"},
    )
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert code.startswith(f"PAKN-{A}-")
    workflow, arg, wf_id, queue = temporal.started[0]
    assert (workflow, wf_id, queue) == ("FeedbackWorkflow", code, "dossiers")
    assert arg.answer_days == 3 and arg.citizen_id is None and arg.agency_code == A


def test_feedback_answer_and_public_list(env) -> None:  # type: ignore[no-untyped-def]
    client, who, temporal, db = env
    who["p"] = CITIZEN
    r = client.post(
        "/api/v1/feedback",
        json={
            "kind": "report",
            "subject": "Thái độ phục vụ",
            "body": "Cán bộ chậm tiếp nhận.",
            "agency_code": B,
        },
    )
    code = r.json()["code"]
    assert temporal.started[-1][1].citizen_id == 42

    who["p"] = Principal(
        kind="official", id=9, name="X", agency_code="000.00.22.H19", roles=("leader",)
    )
    assert (
        client.post(f"/api/v1/feedback/{code}/answer", json={"text": "Đã xử lý"}).status_code == 403
    )
    who["p"] = B_OFFICIAL
    r = client.post(f"/api/v1/feedback/{code}/answer", json={"text": "Đã xử lý", "publish": True})
    assert r.status_code == 200 and r.json()["status"] == "ANSWERED"
    assert temporal.updates[-1][:2] == (code, "answer")

    # The workflow's activity writes the answer; here we write it as it would.
    with db.session() as session:
        row = session.exec(select(Feedback).where(Feedback.code == code)).one()
        row.answer, row.answered_at, row.published = "Đã xử lý", row.received_at, True
        row.procedure_code = "ly-lich-tu-phap"
        session.add(row)
        session.commit()
    items = client.get("/api/v1/feedback/public", params={"procedure": "ly-lich-tu-phap"}).json()
    assert [i["code"] for i in items] == [code]
    assert "contact_name" not in items[0] and items[0]["answer"] == "Đã xử lý"
    assert (
        client.post(f"/api/v1/feedback/{code}/answer", json={"text": "lại"}).json()["code"]
        == "already_answered"
    )


def test_dashboard_page(env) -> None:  # type: ignore[no-untyped-def]
    client, who, _, _ = env
    r = client.get("/giam-sat", params={"from": "2027-04-01", "to": "2027-06-30"})
    assert r.status_code == 200, r.text
    html = r.text
    assert '<html lang="vi">' in html and "Giám sát giải quyết hồ sơ" in html
    assert "/can-bo/ho-so/A-8" in html  # overdue now
    assert "/namespaces/default/workflows?query=WorkflowType%20%3D%20%22DossierWorkflow%22" in html
    assert "data-chart=" in html and "<script>" not in html and "<style" not in html
    assert "style=" not in html  # CSP: style-src 'self' only
    assert 'src="/static/vendor/chart.umd.min.js"' in html
    # Sync rate and the Decision 766 online rate, next to the online rate (province: 7/11, 56/121)
    assert "Tỷ lệ đồng bộ lên Cổng DVC quốc gia" in html
    assert "Tỷ lệ trực tuyến (tính theo Quyết định 766: × tỷ lệ đồng bộ)" in html
    assert "72,73 %" in html  # online rate 8/11
    assert "63,64 %" in html and "46,28 %" in html
    assert "(7/11)" in html
    # Sở Tư pháp's row: online 70 %, synced 60 %, Decision 766 42 %
    assert '<td class="num">70,00 %</td><td class="num">60,00 %</td>' in html
    assert '<td class="num">42,00 %</td>' in html
    charts = [json.loads(unescape(c)) for c in re.findall(r'data-chart="([^"]*)"', html)]
    series = {s["label"]: s["values"] for s in charts[1]["series"]}
    agency_codes = sorted(load_catalog().agencies)
    assert series["Tỷ lệ đồng bộ Cổng DVC quốc gia (%)"][agency_codes.index(A)] == 60.0
    assert series["Tỷ lệ trực tuyến theo QĐ 766 (%)"][agency_codes.index(A)] == 42.0
    who["p"] = B_SUPERVISOR
    html = client.get("/giam-sat").text
    assert "/can-bo/ho-so/A-8" not in html
    assert "AgencyCode%20IN%20%28%22000.00.21.H19%22%29" in html


def test_feedback_while_temporal_is_down_is_503_and_keeps_nothing(env) -> None:  # type: ignore[no-untyped-def]
    client, who, temporal, db = env
    who["p"] = CITIZEN
    body = {"kind": "report", "subject": "Thái độ", "body": "Chậm.", "agency_code": B}
    code = client.post("/api/v1/feedback", json=body).json()["code"]
    with db.session() as session:
        before = {row.code for row in session.exec(select(Feedback))}
    temporal.down = True
    refused = client.post("/api/v1/feedback", json=body)
    assert refused.status_code == 503 and refused.json()["code"] == "temporal_unavailable"
    with db.session() as session:
        assert {row.code for row in session.exec(select(Feedback))} == before
    who["p"] = B_OFFICIAL
    answer = client.post(f"/api/v1/feedback/{code}/answer", json={"text": "Đã xử lý"})
    assert answer.status_code == 503 and answer.json()["code"] == "temporal_unavailable"


def test_periods_outside_the_supported_years_are_a_problem(env) -> None:  # type: ignore[no-untyped-def]
    client, _, _, _ = env
    for params in ({"to": "9999-12-31"}, {"from": "0001-01-01", "to": "0001-01-02"}):
        answer = client.get("/api/v1/stats", params=params)
        assert answer.status_code == 400, answer.text
        assert answer.json()["detail"] == "Ngày phải trong các năm 1901–2100."
    backwards = client.get("/api/v1/stats", params={"from": "2027-06-30", "to": "2027-04-01"})
    assert backwards.json()["detail"].startswith("Khoảng thời gian không hợp lệ")


def test_feedback_text_with_control_characters_is_refused(env) -> None:  # type: ignore[no-untyped-def]
    # A NUL would fail the row's write on PostgreSQL, and in an answer the workflow's
    # record activity for good: refused first, in Vietnamese.
    client, who, temporal, _ = env
    who["p"] = CITIZEN
    payload = {"kind": "report", "subject": "Thái độ", "body": "Chậm\x00 tiếp nhận", "agency_code": B}
    r = client.post("/api/v1/feedback", json=payload)
    assert r.status_code == 422 and "ký tự không hợp lệ" in r.text
    assert temporal.started == []
    code = client.post("/api/v1/feedback", json={**payload, "body": "Chậm tiếp nhận"}).json()["code"]
    who["p"] = B_OFFICIAL
    r = client.post(f"/api/v1/feedback/{code}/answer", json={"text": "Đã\x07 xử lý"})
    assert r.status_code == 422 and temporal.updates == []
