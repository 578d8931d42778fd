"""The national portal sync over real HTTP: the real DossierWorkflow (time-skipping
server) calls the real ``sync_national`` activity, whose client talks to the
national portal simulator served by uvicorn on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select
from temporalio.exceptions import ApplicationError

from dichvucong.accounts.officials import create_official
from dichvucong.accounts.tokens import issue_token
from dichvucong.activities.contracts import NationalSyncRequest
from dichvucong.activities.national import NationalSyncActivities
from dichvucong.api.problems import install_problem_handlers
from dichvucong.api.routes.national_sync import router as national_router
from dichvucong.catalog import load_catalog
from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier, NationalSync, OfficialAccount
from dichvucong.integrations.national import (
    NationalPortalClient,
    NationalPortalError,
    national_portal_url,
    record_attempt,
)
from dichvucong.settings import Settings
from dichvucong.simulators.national import NationalPortalSimulator
from dichvucong.simulators.serve import ServerThread
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import AcceptInput, ApproveInput, IssueResultInput
from tests.workflows.harness import RESULT, Harness, dossier_input, harness, vn
from tests.workflows.test_dossier_lifecycle import ISSUER, LEADER, RECEPTION, SPECIALIST

CLIENT_ID, SECRET = "dvc-dongnai", "test-national-secret"
LLTP = "ly-lich-tu-phap"  # national code 2.000488
STP = "000.00.12.H19"


@dataclass
class Portal:
    sim: NationalPortalSimulator
    url: str

    def client(self, db: Database | None, **kwargs: object) -> NationalPortalClient:
        return NationalPortalClient(self.url, CLIENT_ID, SECRET, db=db, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def portal() -> Iterator[Portal]:
    sim = NationalPortalSimulator(CLIENT_ID, SECRET)
    app = FastAPI()
    app.include_router(sim.router, prefix="/_sim/national")
    with ServerThread(app) as server:
        yield Portal(sim, f"{server.url}/_sim/national")


def request(
    code: str, seq: int, kind: str = "status", status: str = "PROCESSING", procedure: str = LLTP
) -> NationalSyncRequest:
    at = datetime(2027, 1, 11, 2, 0, tzinfo=UTC) + timedelta(hours=seq)
    return NationalSyncRequest(
        dossier_code=code,
        seq=seq,
        kind=kind,
        procedure_code=procedure,
        agency_code=STP,
        channel="online",
        status=status,
        step="tham_dinh",
        at=at,
        received_at=at,
        due_at=at + timedelta(days=14),
    )


def activities(h: Harness, client: NationalPortalClient) -> list:  # type: ignore[type-arg]
    stubs = [a for a in h.world.activities() if a.__name__ != "sync_national"]
    base = [
        a
        for a in h.activities()
        if a.__name__ not in {s.__name__ for s in stubs} and a.__name__ != "sync_national"
    ]
    return [*base, *stubs, NationalSyncActivities(client).sync_national]


async def _run_case(h: Harness, code: str) -> None:
    start = vn(2027, 1, 11, 9, 0)
    await h.travel_to(start)
    handle = await h.start(dossier_input(code, start, procedure_code=LLTP))
    await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
    await handle.execute_update(DossierWorkflow.approve, ApproveInput(actor=SPECIALIST))
    await handle.execute_update(DossierWorkflow.approve, ApproveInput(actor=LEADER))
    state = await handle.execute_update(
        DossierWorkflow.issue_result, IssueResultInput(documents=[RESULT], actor=ISSUER)
    )
    assert state.status == "COMPLETED"
    await handle.result()  # closes once the background reports are through


# ------------------------------------------------------------------ through the workflow


async def test_reception_and_every_transition_reach_the_portal_once_through_failures(
    tmp_path: Path, portal: Portal
) -> None:
    async with harness(tmp_path) as h:
        # Short timeout: the simulator's slow answer makes the first attempt time out.
        client = portal.client(h.db, timeout=1.0)
        async with h.worker(activities(h, client)):
            code = h.new_code()
            portal.sim.fail_next = 2  # the reception's report fails twice (503), then lands
            start = vn(2027, 1, 11, 9, 0)
            await h.travel_to(start)
            handle = await h.start(dossier_input(code, start, procedure_code=LLTP))
            # The official's answer does not wait for the national portal: the report
            # goes in the background, in order, through its retries.
            await handle.execute_update(DossierWorkflow.accept, AcceptInput(actor=RECEPTION))
            for _ in range(20):  # skip the retry back-off (5 s, then 10 s)
                if portal.sim.dossier_records(code):
                    break
                await h.env.sleep(timedelta(seconds=5))
            assert portal.sim.failures == 2
            portal.sim.slow_next, portal.sim.slow_seconds = 1, 1.5  # answered after the
            # client gave up (timeout 1 s), though the portal kept the record
            await handle.execute_update(DossierWorkflow.approve, ApproveInput(actor=SPECIALIST))
            await handle.execute_update(DossierWorkflow.approve, ApproveInput(actor=LEADER))
            state = await handle.execute_update(
                DossierWorkflow.issue_result, IssueResultInput(documents=[RESULT], actor=ISSUER)
            )
            assert state.status == "COMPLETED"
            await handle.result()  # the case closes once every report is through

    records = portal.sim.dossier_records(code)
    assert [(r.key, r.kind, r.payload["TrangThaiHoSo"]) for r in records] == [
        (f"{code}:1", "dossier", "PROCESSING"),
        (f"{code}:2", "status", "PROCESSING"),
        (f"{code}:3", "status", "PROCESSING"),
        (f"{code}:4", "status", "COMPLETED"),
    ]
    # exactly one record per transition; the timed-out one was sent twice, kept once
    assert portal.sim.calls[(code, 2)] == 2
    assert all(portal.sim.calls[(code, s)] == 1 for s in (1, 3, 4))
    first = records[0].payload
    assert (first["MaTTHC"], first["MaCoQuan"], first["KenhThucHien"]) == (
        "2.000488",
        STP,
        "online",
    )
    assert first["NgayTiepNhan"] and first["NgayHenTra"]
    assert records[-1].payload["KetQua"] == "early"
    assert portal.sim.tokens_issued == 1  # cached for every call
    with Database(h.db.url).session() as session:
        rows = session.exec(
            select(NationalSync).where(NationalSync.dossier_code == code).order_by(NationalSync.seq)
        ).all()
    assert [(r.seq, r.status, r.attempts) for r in rows] == [
        (1, "synced", 3),
        (2, "synced", 2),
        (3, "synced", 1),
        (4, "synced", 1),
    ]


async def test_a_rejected_sync_is_recorded_and_the_case_goes_on(
    tmp_path: Path, portal: Portal
) -> None:
    portal.sim.known_codes.discard("2.000488")  # the national database lost our code
    async with harness(tmp_path) as h, h.worker(activities(h, portal.client(h.db))):
        code = h.new_code()
        await _run_case(h, code)
    assert portal.sim.dossier_records(code) == []
    assert portal.sim.rejections[0]["error_code"] == "MA_TTHC_KHONG_TON_TAI"
    assert len(portal.sim.rejections) == 1  # statuses are not sent after the refusal
    with Database(h.db.url).session() as session:
        rows = session.exec(
            select(NationalSync).where(NationalSync.dossier_code == code).order_by(NationalSync.seq)
        ).all()
    assert [(r.seq, r.status, r.attempts) for r in rows] == [
        (1, "rejected", 1),
        (2, "rejected", 1),
        (3, "rejected", 1),
        (4, "rejected", 1),
    ]
    assert rows[0].reason is not None and rows[0].reason.startswith("MA_TTHC_KHONG_TON_TAI")


# ------------------------------------------------------------------ the client alone


def test_rejection_is_returned_transport_errors_raise(portal: Portal, db: Database) -> None:
    client = portal.client(db)
    result = client.sync(request("D-1", 1, kind="dossier", procedure="khong-co-trong-danh-muc"))
    assert result.status == "rejected" and "MA_TTHC_CHUA_KHAI_BAO" in (result.reason or "")

    bad = request("D-2", 1, kind="dossier", status="KHONG_CO")
    result = client.sync(bad)
    assert result.status == "rejected" and "TRANG_THAI_KHONG_HOP_LE" in (result.reason or "")

    portal.sim.fail_next = 1
    with pytest.raises(NationalPortalError):
        client.sync(request("D-3", 1, kind="dossier"))
    assert client.sync(request("D-3", 1, kind="dossier")).status == "synced"
    with db.session() as session:
        row = session.get(NationalSync, ("D-3", 1))
        assert row is not None and (row.status, row.attempts) == ("synced", 2)

    unreachable = NationalPortalClient(
        "http://127.0.0.1:9/_sim/national", CLIENT_ID, SECRET, timeout=0.5
    )
    with pytest.raises(NationalPortalError):
        unreachable.sync(request("D-4", 1, kind="dossier"))


def test_refused_credentials_are_not_retried(portal: Portal, db: Database) -> None:
    wrong = NationalPortalClient(portal.url, CLIENT_ID, "not-the-secret", db=db)
    with pytest.raises(ApplicationError) as refused:
        NationalSyncActivities(wrong).sync_national(request("C-1", 1, kind="dossier"))
    assert refused.value.non_retryable and refused.value.type == "NationalCredentialsRefused"
    with db.session() as session:
        row = session.get(NationalSync, ("C-1", 1))
        assert row is not None and row.status == "failed"  # the nightly re-sync tries again


def test_token_cached_until_expiry_and_renewed_once_on_401(portal: Portal) -> None:
    now = [1000.0]
    client = portal.client(None, clock=lambda: now[0])
    assert client.sync(request("T-1", 1, kind="dossier")).status == "synced"
    assert client.sync(request("T-1", 2)).status == "synced"
    assert portal.sim.tokens_issued == 1
    now[0] += 3600  # past expiry: a new token before the call
    assert client.sync(request("T-1", 3)).status == "synced"
    assert portal.sim.tokens_issued == 2
    portal.sim.tokens.clear()  # revoked early: 401, renewed, repeated
    assert client.sync(request("T-1", 4)).status == "synced"
    assert portal.sim.tokens_issued == 3
    assert len(portal.sim.dossier_records("T-1")) == 4


def test_settings_decide_simulator_or_off(tmp_path: Path) -> None:
    dev = Settings(var_dir=tmp_path, public_base_url="http://127.0.0.1:8000")
    assert national_portal_url(dev) == "http://127.0.0.1:8000/_sim/national"
    prod = Settings(
        var_dir=tmp_path,
        environment="production",
        secret_key="s" * 32,
        payment_secret="p",
        postal_secret="q",
        payment_gateway_url="https://gateway.example",
        postal_api_url="https://postal.example",
    )
    assert national_portal_url(prod) is None
    assert (
        national_portal_url(prod.model_copy(update={"national_portal_url": "https://x/api/"}))
        == "https://x/api"
    )
    off = Settings(var_dir=tmp_path, national_sync_enabled=False)
    assert national_portal_url(off) is None


# ------------------------------------------------------------------ what supervisors see


async def test_supervisors_see_rejections_and_the_sync_rate(db: Database, tmp_path: Path) -> None:
    received = datetime(2027, 1, 11, 2, 0, tzinfo=UTC)
    with db.session() as session:
        for i in range(4):
            session.add(
                Dossier(
                    code=f"S-{i}",
                    procedure_code=LLTP,
                    agency_code=STP,
                    status="PROCESSING",
                    received_at=received,
                )
            )
        session.commit()
    record_attempt(db, request("S-0", 1, kind="dossier"), "synced", None)
    record_attempt(db, request("S-1", 1, kind="dossier"), "synced", None)
    record_attempt(db, request("S-1", 2), "synced", None)
    record_attempt(
        db,
        request("S-2", 1, kind="dossier"),
        "rejected",
        "MA_TTHC_KHONG_TON_TAI: Mã thủ tục 2.000488 không có",
    )
    record_attempt(db, request("S-3", 1, kind="dossier"), "failed", "unreachable")
    with db.session() as session:
        create_official(
            session=session,
            username="giamsat.stp",
            password="mat-khau-2026",
            agency_code=STP,
            roles=["supervisor"],
        )
        create_official(
            session=session,
            username="chuyenvien.stp",
            password="mat-khau-2026",
            agency_code=STP,
            roles=["specialist"],
        )
        ids = {
            o: session.exec(select(OfficialAccount.id).where(OfficialAccount.username == o)).one()
            for o in ("giamsat.stp", "chuyenvien.stp")
        }
    settings = Settings(var_dir=tmp_path, environment="test", secret_key="test-secret-0123456789")
    app = FastAPI()
    app.state.settings, app.state.db, app.state.catalog = settings, db, load_catalog()
    install_problem_handlers(app)
    app.include_router(national_router, prefix="/api/v1")

    def bearer(name: str) -> dict[str, str]:
        token = issue_token(settings.secret_key, f"official:{ids[name]}", ttl_seconds=600)
        return {"Authorization": f"Bearer {token}"}

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://portal.test"
    ) as http:
        response = await http.get("/api/v1/national-sync", headers=bearer("chuyenvien.stp"))
        assert response.status_code == 403
        response = await http.get(
            "/api/v1/national-sync?status=rejected&from=2027-01-01&to=2027-03-31",
            headers=bearer("giamsat.stp"),
        )
        assert response.status_code == 200, response.text
        body = response.json()
    assert [(i["dossier_code"], i["reason"]) for i in body["items"]] == [
        ("S-2", "MA_TTHC_KHONG_TON_TAI: Mã thủ tục 2.000488 không có")
    ]
    assert body["rates"] == [
        {
            "agency_code": STP,
            "agency_name": "Sở Tư pháp tỉnh Đồng Nai",
            "received": 4,
            "synced": 2,
            "sync_rate": 0.5,
        }
    ]
