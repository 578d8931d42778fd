"""The submission and officials' flow of tests/api with the read model on PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import select

from dichvucong.db.models import Dossier, DossierEvent
from tests.api.portal import PDF_BYTES, STP, portal


async def test_submission_to_result_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    async with portal(tmp_path, database_url=pg_url) as p:
        assert p.db.engine.dialect.name == "postgresql"
        await p.register()
        citizen = await p.login("075203001234")
        reception = await p.login(p.official("tiepnhan", STP, "reception"))
        specialist = await p.login(p.official("chuyenvien", STP, "specialist"))
        leader = await p.login(p.official("lanhdao", STP, "leader"))
        issuer = await p.login(p.official("vanthu", STP, "issuer"))

        # Concurrent submissions get distinct codes; a retried request returns the same one.
        answers = await asyncio.gather(*(p.submit(citizen, key=f"k-{i}") for i in range(4)))
        assert all(a.status_code in (200, 201, 202) for a in answers), [a.text for a in answers]
        codes = [a.json()["dossier_code"] for a in answers]
        assert len(set(codes)) == 4
        again = await p.submit(citizen, key="k-0")
        assert again.json()["dossier_code"] == codes[0]
        code = codes[0]
        for c in codes:
            await p.settled(c)

        inbox = (await p.http.get("/api/v1/official/inbox", headers=reception)).json()
        assert sorted(d["dossier_code"] for d in inbox["items"]) == sorted(codes)
        found = (await p.http.get("/api/v1/lookup", params={"q": code})).json()["results"]
        assert [r["dossier_code"] for r in found] == [code]

        accepted = await p.act(reception, code, "accept", {"note": "Hồ sơ đủ"})
        assert accepted.status_code == 200, accepted.text
        paid = await p.act(
            reception, code, "record_counter_payment", {"receipt_no": "BL-01", "amount": 200_000}
        )
        assert paid.json()["status"] == "PROCESSING", paid.text
        first = await p.act(specialist, code, "approve", {"note": "Đạt"}, key="a-1")
        again = await p.act(specialist, code, "approve", {"note": "Đạt"}, key="a-1")
        assert first.json()["seq"] == again.json()["seq"]
        assert (await p.act(leader, code, "approve")).status_code == 200
        issued = await p.http.post(
            f"/api/v1/dossiers/{code}/actions/issue_result",
            data={"note": "Phiếu số 1"},
            files={"result": ("phieu-lltp.pdf", PDF_BYTES, "application/pdf")},
            headers=issuer,
        )
        assert issued.status_code == 200, issued.text
        assert issued.json()["status"] == "COMPLETED"
        await p.settled(code, issued.json()["seq"])

        detail = (await p.http.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
        assert [e["action"] for e in detail["events"]] == [
            "submit",
            "accept",
            "record_counter_payment",
            "approve",
            "approve",
            "issue_result",
        ]
        result = await p.http.get(f"/api/v1/dossiers/{code}/result", headers=citizen)
        assert result.status_code == 200 and result.content == PDF_BYTES

        # The read model equals the workflow's own state, with no event written twice.
        state = await p.env.client.get_workflow_handle(code).query("state")
        with p.db.session() as session:
            row = session.get(Dossier, code)
            assert row is not None and row.status == "COMPLETED"
            seqs = [e.seq for e in session.exec(
                select(DossierEvent).where(DossierEvent.dossier_code == code)
            )]  # fmt: skip
        assert seqs == sorted(set(seqs)) == list(range(len(seqs)))
        status = state["status"] if isinstance(state, dict) else state.status
        assert status == row.status


async def test_values_postgresql_cannot_hold_are_a_problem_not_a_500(
    tmp_path: Path, pg_url: str
) -> None:
    async with portal(tmp_path, database_url=pg_url) as p:
        await p.register()
        citizen = await p.login("075203001234")
        for path, params in (
            ("/api/v1/lookup", {"q": "x\x00y"}),
            ("/api/v1/dossiers/a%00b", {}),
        ):
            answer = await p.http.get(path, params=params, headers=citizen)
            assert answer.status_code == 422, (path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["detail"] == "Dữ liệu gửi lên có ký tự hoặc giá trị không hợp lệ."
        login = await p.http.post(
            "/api/v1/auth/token", data={"username": "a\x00b", "password": "x"}
        )
        assert login.status_code == 422
        # The header's longest key, with the citizen's id in front, fits the row's column.
        kept = await p.submit(citizen, key="k" * 128)
        assert kept.status_code == 201, kept.text
        assert (await p.submit(citizen, key="k" * 128)).json() == kept.json()
