"""The officials' inbox marks a case overdue as the JSON inbox does: by the due moment
only while the statutory clock runs (PROCESSING); a case whose result was issued on
time and now waits at the counter is not red, nor in the "overdue only" list."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from dichvucong.accounts.officials import create_official
from dichvucong.api.routes.official_pages import urgency
from dichvucong.app import create_app
from dichvucong.db.models import Dossier
from dichvucong.dossiers.views import WorkItem
from dichvucong.seed import seed
from dichvucong.settings import Settings

STP = "000.00.12.H19"
PASSWORD = "mat-khau-2026"
NOW = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)  # Thursday 10:00 in Vietnam
SOON = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)  # one working day later


def item(status: str, due_at: datetime | None, overdue: bool = False) -> WorkItem:
    submitted = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    return WorkItem("X-1", status, "P", STP, submitted, due_at, overdue, None, "Nguyễn Văn An")


def test_urgency_by_due_moment_only_while_the_clock_runs() -> None:
    past, within_a_day = NOW - timedelta(days=1), NOW + timedelta(hours=4)
    assert urgency(item("PROCESSING", past), NOW, SOON) == "overdue"
    assert urgency(item("PROCESSING", within_a_day), NOW, SOON) == "soon"
    assert urgency(item("PROCESSING", NOW + timedelta(days=5)), NOW, SOON) == ""
    # Issued on time, waiting for the counter payment or the hand-over: the clock stopped.
    for status in ("RESULT_READY", "AWAITING_PAYMENT", "DISPATCHED", "SUPPLEMENT_REQUESTED"):
        assert urgency(item(status, past), NOW, SOON) == "", status
        assert urgency(item(status, within_a_day), NOW, SOON) == "", status
        # ... unless the workflow's timer found the deadline missed.
        assert urgency(item(status, past, overdue=True), NOW, SOON) == "overdue", status
    assert urgency(item("PROCESSING", None), NOW, SOON) == ""


async def test_the_overdue_filter_matches_the_json_inbox(tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path,
        environment="test",
        secret_key="test-secret-0123456789",
        public_base_url="http://portal.test",
    )
    seed(settings)
    web = create_app(settings, temporal=object())  # the inbox reads the read model only
    now = datetime.now(UTC)
    counter = {"allowed_actions": {"reception": ["record_counter_payment"]}}
    with web.state.db.session() as session:
        create_official(
            session=session,
            username="tiepnhan",
            password=PASSWORD,
            agency_code=STP,
            roles=["reception"],
        )
        for code, overdue in (
            ("000.00.12.H19-261120-0001", False),
            ("000.00.12.H19-261120-0002", True),
        ):
            session.add(
                Dossier(
                    code=code,
                    procedure_code="ly-lich-tu-phap",
                    agency_code=STP,
                    applicant_name="Nguyễn Văn An",
                    submitted_at=now - timedelta(days=20),
                    due_at=now - timedelta(days=1),
                    overdue=overdue,
                    status="RESULT_READY",
                    state=counter,
                )
            )
        session.commit()
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http:
        page = await http.get("/can-bo/dang-nhap")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        signed_in = await http.post(
            "/can-bo/dang-nhap",
            data={"username": "tiepnhan", "password": PASSWORD, "csrf_token": csrf.group(1)},
        )
        assert signed_in.status_code == 303
        on_time, late = "000.00.12.H19-261120-0001", "000.00.12.H19-261120-0002"
        listed = await http.get("/can-bo", headers={"Accept": "text/html"})
        assert on_time in listed.text and late in listed.text
        assert re.search(rf'<tr class="overdue" data-code="{late}"', listed.text)
        assert re.search(rf'<tr class="" data-code="{on_time}"', listed.text)
        only = await http.get("/can-bo", params={"overdue": "1"}, headers={"Accept": "text/html"})
        token = await http.post(
            "/api/v1/auth/token", data={"username": "tiepnhan", "password": PASSWORD}
        )
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        api = await http.get("/api/v1/official/inbox", params={"overdue": "true"}, headers=bearer)
        assert api.status_code == 200, api.text
        assert late in only.text and on_time not in only.text
        assert late in api.text and on_time not in api.text
    web.state.db.dispose()
