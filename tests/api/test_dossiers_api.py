"""The JSON API of dossiers against a real Temporal test server and worker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select
from temporalio.client import Client
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from dichvucong.db.models import CitizenAccount, CitizenDocument, Dossier, StoredDocument
from dichvucong.dossiers import submission
from dichvucong.settings import Settings
from dichvucong.workflows.messages import DossierInput
from tests.conftest import free_port

from .portal import JPEG_BYTES, LLTP_FORM, PDF_BYTES, STP, portal


async def test_register_refuses_bad_cccd_with_vietnamese_messages(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        response = await p.http.post(
            "/api/v1/accounts",
            json={
                "full_name": "Trần Thị Bình",
                "id_number": "075103001234",  # century digit says 1900s
                "date_of_birth": "2003-05-17",
                "phone": "12345",
                "email": "khong-hop-le",
                "address": "Biên Hòa",
                "password": "ngan",
            },
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        errors = response.json()["errors"]
        assert errors["id_number"].startswith("Số CCCD không khớp")
        assert set(errors) == {"id_number", "phone", "email", "password"}
        await p.register()
        again = await p.http.post(
            "/api/v1/accounts",
            json={
                "full_name": "Người Khác",
                "id_number": "075203001234",
                "date_of_birth": "2003-05-17",
                "phone": "0987654321",
                "address": "Long Khánh",
                "password": "mat-khau-2026",
            },
        )
        assert again.status_code == 422 and "id_number" in again.json()["errors"]


async def test_one_cccd_cannot_back_a_second_account_in_other_digits(tmp_path: Path) -> None:
    """Arabic-Indic or fullwidth digits, or a trailing newline, are not another CCCD."""
    async with portal(tmp_path) as p:
        await p.register()
        for look_alike in ("٠٧٥٢٠٣٠٠١٢٣٤", "０７５２０３００１２３４", "075203001234\n"):
            response = await p.http.post(
                "/api/v1/accounts",
                json={
                    "full_name": "Người Khác",
                    "id_number": look_alike,
                    "date_of_birth": "2003-05-17",
                    "phone": "0987654321",
                    "address": "Long Khánh",
                    "password": "mat-khau-2026",
                },
            )
            assert response.status_code == 422, look_alike
            # Either refused as not 12 digits or recognised as the same CCCD: never a second.
            assert response.json()["errors"]["id_number"] in (
                "Số CCCD phải gồm đúng 12 chữ số.",
                "Số CCCD này đã được đăng ký. Vui lòng đăng nhập.",
            )
        with p.db.session() as session:
            assert session.exec(select(func.count()).select_from(CitizenAccount)).one() == 1
        phone = await p.http.post(
            "/api/v1/accounts",
            json={
                "full_name": "Người Khác",
                "id_number": "075304005678",
                "date_of_birth": "2004-02-02",
                "phone": "0٩12345678",
                "address": "Long Khánh",
                "password": "mat-khau-2026",
            },
        )
        assert phone.status_code == 422 and "phone" in phone.json()["errors"]


async def test_login_by_cccd_phone_or_email_and_one_answer_for_failures(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register(email="an@example.vn")
        for username in ("075203001234", "0912345678", "an@example.vn"):
            headers = await p.login(username)
            me = (await p.http.get("/api/v1/me", headers=headers)).json()
            assert me["kind"] == "citizen" and me["name"] == "Nguyễn Văn An"
        wrong = await p.http.post(
            "/api/v1/auth/token", data={"username": "075203001234", "password": "sai-mat-khau"}
        )
        unknown = await p.http.post(
            "/api/v1/auth/token", data={"username": "099999999999", "password": "sai-mat-khau"}
        )
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_submit_read_and_look_up_a_dossier(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        response = await p.submit(citizen)
        assert response.status_code == 201, response.text
        body = response.json()
        code = body["dossier_code"]
        assert code.startswith(f"{STP}-") and code.endswith("-0001")
        assert (body["status"], body["fee_amount"]) == ("SUBMITTED", 200_000)

        await p.settled(code)
        detail = (await p.http.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
        assert detail["status_label"] == "Chờ tiếp nhận"
        assert detail["allowed_actions"] == ["withdraw"]
        assert [(d["slot"], d["media_type"]) for d in detail["documents"]] == [
            ("giay_to_tuy_than", "application/pdf")
        ]
        assert detail["events"][0]["action"] == "submit"

        mine = (await p.http.get("/api/v1/me/dossiers", headers=citizen)).json()
        assert [d["dossier_code"] for d in mine["items"]] == [code]
        docs = (await p.http.get("/api/v1/me/documents", headers=citizen)).json()
        assert [d["name"] for d in docs] == ["cccd.pdf"]

        for query in (code, "075203001234", f"http://portal.test/tra-cuu?q={code}"):
            found = (await p.http.get("/api/v1/lookup", params={"q": query})).json()["results"]
            assert [r["dossier_code"] for r in found] == [code]
            assert found[0]["applicant"] == "Nguyễn V** A**"
            assert "075203001234" not in str(found)


async def test_bad_uploads_leave_nothing_behind(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        disguised = await p.submit(
            citizen,
            files=[
                (
                    "giay_to_tuy_than",
                    ("cccd.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf"),
                )
            ],
        )
        assert disguised.status_code == 422
        assert "giay_to_tuy_than" in str(disguised.json()["errors"])
        missing = await p.submit(citizen, files=[])
        assert missing.status_code == 422
        assert "Vui lòng đính kèm" in missing.json()["errors"]["documents.giay_to_tuy_than"]
        p.settings.max_file_bytes = 1000
        oversize = await p.submit(
            citizen,
            files=[("giay_to_tuy_than", ("big.pdf", PDF_BYTES + b"0" * 2000, "application/pdf"))],
        )
        assert oversize.status_code == 422 and "dung lượng" in str(oversize.json()["errors"])
        p.settings.max_file_bytes = 10_000_000
        wrong_type = await p.submit(
            citizen,
            files=[  # this slot accepts PDF only
                ("giay_to_tuy_than", ("a.jpg", JPEG_BYTES, "image/jpeg")),
                ("van_ban_uy_quyen", ("uq.jpg", JPEG_BYTES, "image/jpeg")),
            ],
        )
        assert wrong_type.status_code == 422
        bad_form = await p.submit(citizen, form={**LLTP_FORM, "so_dinh_danh": "123"})
        assert bad_form.status_code == 422 and "form.so_dinh_danh" in bad_form.json()["errors"]
        with p.db.session() as session:
            assert session.exec(select(func.count()).select_from(Dossier)).one() == 0
            assert session.exec(select(func.count()).select_from(StoredDocument)).one() == 0
            assert session.exec(select(func.count()).select_from(CitizenDocument)).one() == 0
        stored = [f for f in (tmp_path / "documents").rglob("*") if f.is_file()]
        assert stored == []


async def test_odd_ids_and_json_are_refused_in_vietnamese(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        for reused in ("²", "9223372036854775808", "9" * 5000):
            answer = await p.http.post(
                "/api/v1/dossiers",
                data={"procedure_code": "ly-lich-tu-phap", "agency_code": STP,
                      "delivery": "online", "form": json.dumps(LLTP_FORM),
                      "reuse_giay_to_tuy_than": reused},
                headers=citizen,
            )  # fmt: skip
            assert answer.status_code == 422, reused[:20]
            assert answer.json()["errors"] == {
                "documents.giay_to_tuy_than": "Mã giấy tờ không hợp lệ."
            }
        for form in ('{"so_ban": ' + "1" * 5000 + "}", "[" * 100_000):
            answer = await p.http.post(
                "/api/v1/dossiers",
                data={"procedure_code": "ly-lich-tu-phap", "agency_code": STP,
                      "delivery": "online", "form": form},
                headers=citizen,
            )  # fmt: skip
            assert answer.status_code == 422
            assert answer.json()["errors"] == {"form": "Trường form phải là một đối tượng JSON."}
        code = (await p.submit(citizen)).json()["dossier_code"]
        official = await p.login(p.official("tiepnhan", STP, "reception"))
        bad = await p.http.post(
            f"/api/v1/dossiers/{code}/actions/refuse",
            content=b"\xff\xfe\xfd",
            headers={**official, "Content-Type": "application/json"},
        )
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_json"
        far = await p.http.get("/api/v1/me/dossiers", params={"offset": 2**63}, headers=citizen)
        assert far.status_code == 422
        with p.db.session() as session:
            assert session.exec(select(func.count()).select_from(Dossier)).one() == 1


async def test_an_idempotency_key_of_the_longest_allowed_length_is_kept(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        key = "k" * 128  # the header's limit; the row adds the citizen's id to it
        first = await p.submit(citizen, key=key)
        again = await p.submit(citizen, key=key)
        assert first.status_code == again.status_code == 201
        assert first.json()["dossier_code"] == again.json()["dossier_code"]
        other = await p.submit(citizen, key="k" * 127 + "x")
        assert other.json()["dossier_code"] != first.json()["dossier_code"]
        with p.db.session() as session:
            stored = session.exec(select(Dossier.idempotency_key)).all()
        assert len(stored) == 2 and all(k is not None and len(k) <= 128 for k in stored)


async def test_retried_submission_creates_one_dossier(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        first, second = await asyncio.gather(
            p.submit(citizen, key="double-click-1"), p.submit(citizen, key="double-click-1")
        )
        assert {first.status_code, second.status_code} == {201}
        assert first.json()["dossier_code"] == second.json()["dossier_code"]
        with p.db.session() as session:
            assert session.exec(select(func.count()).select_from(Dossier)).one() == 1


async def test_retry_that_starts_the_workflow_first_keeps_the_dossier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the test above leaves to the scheduler, made certain: the retry finds the
    row before its workflow exists and starts it; the first request's own start is then
    refused as a duplicate, and must not undo the dossier of a running case."""
    real_start = submission.start_dossier_workflow
    retried: list[httpx.Response] = []
    calls: list[str] = []

    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")

        async def start_after_retry(client: Client, settings: Settings, inp: DossierInput) -> None:
            calls.append(inp.dossier_code)
            if len(calls) == 1:  # the first request, before its own start: the retry runs
                retried.append(await p.submit(citizen, key="double-click-2"))
            await real_start(client, settings, inp)

        monkeypatch.setattr(submission, "start_dossier_workflow", start_after_retry)
        first = await p.submit(citizen, key="double-click-2")
        assert first.status_code == 201, first.text
        assert retried[0].status_code == 201
        code = first.json()["dossier_code"]
        assert retried[0].json()["dossier_code"] == code
        assert calls == [code, code]  # the retry's start, then the refused duplicate
        await p.settled(code)  # the case runs: its first transition reached the row
        with p.db.session() as session:
            assert session.exec(select(func.count()).select_from(Dossier)).one() == 1
            assert session.exec(select(func.count()).select_from(CitizenDocument)).one() == 1


async def test_a_new_dossier_is_in_the_reception_inbox_before_its_workflow_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API writes the row with Core, not the ORM: it derives the inbox's filter
    itself, so the dossier is not invisible to reception until its first transition."""
    real_start = submission.start_dossier_workflow
    roles_before_start: list[str] = []

    async with portal(tmp_path) as p:

        async def look_then_start(client: Client, settings: Settings, inp: DossierInput) -> None:
            with p.db.session() as session:
                row = session.get(Dossier, inp.dossier_code)
                assert row is not None
                roles_before_start.append(row.acting_roles)
            await real_start(client, settings, inp)

        await p.register()
        citizen = await p.login("075203001234")
        monkeypatch.setattr(submission, "start_dossier_workflow", look_then_start)
        answer = await p.submit(citizen, key="inbox-at-once")
        assert answer.status_code == 201, answer.text
        assert roles_before_start == ["|citizen|reception|"]


async def test_temporal_down_refuses_the_submission_and_keeps_nothing(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        # Nobody listens there: every start is refused, including the confirming one.
        p.app.state.temporal = await Client.connect(
            f"127.0.0.1:{free_port()}",
            lazy=True,
            retry_config=RetryConfig(max_retries=1, initial_interval_millis=10),
        )
        answer = await p.submit(citizen, key="temporal-down")
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"].startswith("Hệ thống xử lý hồ sơ đang bận; hồ sơ chưa được gửi")
        with p.db.session() as session:
            assert session.exec(select(func.count()).select_from(Dossier)).one() == 0
            assert session.exec(select(func.count()).select_from(CitizenDocument)).one() == 0
            assert session.exec(select(func.count()).select_from(StoredDocument)).one() == 0
        assert [f for f in (tmp_path / "documents").rglob("*") if f.is_file()] == []


async def test_a_start_whose_answer_was_lost_keeps_the_dossier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server started the case but the answer never came back: the dossier must not
    be undone under a running workflow."""
    real_start = submission.start_dossier_workflow
    calls: list[str] = []

    async def answer_lost_once(client: Client, settings: Settings, inp: DossierInput) -> None:
        calls.append(inp.dossier_code)
        await real_start(client, settings, inp)
        if len(calls) == 1:
            raise RPCError("deadline exceeded", RPCStatusCode.DEADLINE_EXCEEDED, b"")

    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        monkeypatch.setattr(submission, "start_dossier_workflow", answer_lost_once)
        answer = await p.submit(citizen, key="answer-lost")
        assert answer.status_code == 201, answer.text
        code = answer.json()["dossier_code"]
        assert len(calls) == 2  # the confirming start was refused as a duplicate
        await p.settled(code)
        with p.db.session() as session:
            row = session.get(Dossier, code)
            assert row is not None and row.applicant_id is not None
            assert session.exec(select(func.count()).select_from(CitizenDocument)).one() == 1
        assert [f for f in (tmp_path / "documents").rglob("*") if f.is_file()] != []


async def test_concurrent_submissions_get_distinct_sequential_codes(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        responses = await asyncio.gather(*(p.submit(citizen) for _ in range(8)))
        codes = sorted(r.json()["dossier_code"] for r in responses)
        assert [c.rsplit("-", 1)[1] for c in codes] == [f"{n:04d}" for n in range(1, 9)]


async def test_another_citizens_dossier_is_not_found(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        await p.register(
            id_number="075304005678", phone="0987654321", full_name="Lê Thị Cúc", dob="2004-02-02"
        )
        owner = await p.login("075203001234")
        other = await p.login("075304005678")
        code = (await p.submit(owner)).json()["dossier_code"]
        for path in (f"/api/v1/dossiers/{code}", f"/api/v1/dossiers/{code}/result"):
            response = await p.http.get(path, headers=other)
            assert response.status_code == 404
        missing = await p.http.get("/api/v1/dossiers/000.00.12.H19-991231-9999", headers=owner)
        assert missing.status_code == 404
