"""Officials' decisions over the API: rights (403), the workflow's refusals (409),
idempotent retries, the inbox, supplements, results and ratings."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import select

from dichvucong.db.models import Dossier, DossierEvent
from tests.conftest import free_port

from .portal import COMMUNE, PDF_BYTES, STP, Portal, portal


async def test_reception_to_result_with_counter_payment(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        reception = await p.login(p.official("tiepnhan", STP, "reception"))
        specialist = await p.login(p.official("chuyenvien", STP, "specialist"))
        leader = await p.login(p.official("lanhdao", STP, "leader"))
        issuer = await p.login(p.official("vanthu", STP, "issuer"))
        stranger = await p.login(p.official("tiepnhan.xa", COMMUNE, "reception"))

        code = (await p.submit(citizen)).json()["dossier_code"]
        await p.settled(code)
        inbox = (await p.http.get("/api/v1/official/inbox", headers=reception)).json()
        assert [d["dossier_code"] for d in inbox["items"]] == [code]
        assert inbox["counts"] == {"SUBMITTED": 1}
        assert (await p.http.get("/api/v1/official/inbox", headers=specialist)).json()[
            "items"
        ] == []

        assert (await p.act(stranger, code, "accept")).status_code == 404  # other agency
        forbidden = await p.act(specialist, code, "accept")
        assert forbidden.status_code == 403
        assert forbidden.json()["code"] == "role_forbidden"
        early = await p.act(specialist, code, "approve")
        assert early.status_code == 409
        assert "Chờ tiếp nhận" in early.json()["detail"]

        accepted = await p.act(reception, code, "accept", {"note": "Hồ sơ đủ"})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["status"] == "AWAITING_PAYMENT"
        wrong = await p.act(
            reception, code, "record_counter_payment", {"receipt_no": "BL-01", "amount": 100_000}
        )
        assert wrong.status_code == 409 and "không khớp" in wrong.json()["detail"]
        paid = await p.act(
            reception, code, "record_counter_payment", {"receipt_no": "BL-01", "amount": 200_000}
        )
        assert (paid.json()["status"], paid.json()["step"]) == ("PROCESSING", "tham_dinh")

        first = await p.act(specialist, code, "approve", {"note": "Đạt"}, key="k-1")
        again = await p.act(specialist, code, "approve", {"note": "Đạt"}, key="k-1")
        assert first.status_code == again.status_code == 200
        assert first.json()["seq"] == again.json()["seq"]
        assert again.json()["step"] == "phe_duyet"

        await p.act(leader, code, "approve")
        issued = await p.http.post(
            f"/api/v1/dossiers/{code}/actions/issue_result",
            data={"note": "Phiếu số 1"},
            files={"result": ("phieu-lltp.pdf", PDF_BYTES, "application/pdf")},
            headers=issuer,
        )
        assert issued.status_code == 200, issued.text
        assert issued.json()["status"] == "COMPLETED"

        result = await p.http.get(f"/api/v1/dossiers/{code}/result", headers=citizen)
        assert result.status_code == 200 and result.content == PDF_BYTES
        detail = (await p.http.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
        assert detail["allowed_actions"] == ["rate"]
        assert [e["action"] for e in detail["events"]] == [
            "submit",
            "accept",
            "record_counter_payment",
            "approve",
            "approve",
            "issue_result",
        ]
        assert {e["actor"] for e in detail["events"][1:]} == {"official"}  # no usernames shown
        official_view = (await p.http.get(f"/api/v1/dossiers/{code}", headers=leader)).json()
        assert official_view["events"][1]["actor"].startswith("official:")
        docs = (await p.http.get("/api/v1/me/documents", headers=citizen)).json()
        assert {d["origin"] for d in docs} == {"upload", "result"}

        rated = await p.http.post(
            f"/api/v1/dossiers/{code}/rating",
            headers=citizen,
            json={"level": "very_satisfied", "comment": "Nhanh"},
        )
        assert rated.status_code == 201
        twice = await p.http.post(
            f"/api/v1/dossiers/{code}/rating", headers=citizen, json={"level": "satisfied"}
        )
        assert twice.status_code == 409
        closed = await p.act(reception, code, "accept")
        assert closed.status_code == 409


async def _submitted(p: Portal) -> tuple[dict[str, str], dict[str, str], str]:
    """A citizen's dossier waiting for reception; the citizen's and the receiver's headers."""
    await p.register()
    citizen = await p.login("075203001234")
    reception = await p.login(p.official("tiepnhan", STP, "reception"))
    code = (await p.submit(citizen)).json()["dossier_code"]
    await p.settled(code)
    return citizen, reception, code


async def test_supplement_requested_and_sent_by_the_citizen(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        citizen, reception, code = await _submitted(p)
        early = await p.http.post(
            f"/api/v1/dossiers/{code}/supplement", headers=citizen, data={"note": "x"}
        )
        assert early.status_code == 409
        asked = await p.act(
            reception,
            code,
            "request_supplement",
            {"items": ["Bản chụp CCCD rõ nét hơn"], "note": "Ảnh mờ"},
        )
        assert asked.json()["status"] == "SUPPLEMENT_REQUESTED"
        detail = (await p.http.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
        assert detail["pending_supplement_items"] == ["Bản chụp CCCD rõ nét hơn"]
        assert detail["allowed_actions"] == ["supplement", "withdraw"]
        upload = [("giay_to_tuy_than", ("cccd-moi.pdf", PDF_BYTES + b"%new", "application/pdf"))]
        keyed = {**citizen, "Idempotency-Key": "bo-sung-1"}
        sent = await p.http.post(
            f"/api/v1/dossiers/{code}/supplement",
            headers=keyed,
            data={"note": "Đã chụp lại"},
            files=upload,
        )
        assert sent.status_code == 202, sent.text
        await p.settled(code, seq=2)
        # The client retries (its answer was lost): the same answer, nothing sent again.
        again = await p.http.post(
            f"/api/v1/dossiers/{code}/supplement", headers=keyed, data={"note": "Đã chụp lại"},
            files=upload,
        )  # fmt: skip
        assert again.status_code == 202, again.text
        other = await p.http.post(
            f"/api/v1/dossiers/{code}/supplement",
            headers={**citizen, "Idempotency-Key": "bo-sung-2"},
            data={"note": "x"},
        )
        assert other.status_code == 409  # a new one: the case no longer waits
        detail = (await p.http.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
        assert detail["status"] == "SUBMITTED"
        assert ("supplement", "cccd-moi.pdf") in {
            (d["kind"], d["name"]) for d in detail["documents"]
        }


async def test_a_supplement_the_case_no_longer_waits_for_changes_nothing(tmp_path: Path) -> None:
    """The read model lags behind the case: the workflow refuses the second supplement,
    and the form data it carried is not written."""
    async with portal(tmp_path) as p:
        citizen, reception, code = await _submitted(p)
        await p.act(reception, code, "request_supplement", {"items": ["Mục đích rõ hơn"]})
        first = await p.http.post(
            f"/api/v1/dossiers/{code}/supplement",
            headers={**citizen, "Idempotency-Key": "bs-1"},
            data={"form": json.dumps({"muc_dich": "Du học"})},
        )
        assert first.status_code == 202, first.text
        await p.settled(code, seq=2)
        with p.db.session() as session:  # as if the second transition were not recorded yet
            row = session.get(Dossier, code)
            assert row is not None and row.form_data["muc_dich"] == "Du học"
            row.status = "SUPPLEMENT_REQUESTED"
            session.add(row)
            session.commit()
        second = await p.http.post(
            f"/api/v1/dossiers/{code}/supplement",
            headers=citizen,
            data={"form": json.dumps({"muc_dich": "Định cư"})},
        )
        assert second.status_code == 409, second.text
        assert second.json()["detail"].startswith("Không thể «Bổ sung hồ sơ»")
        retried = await p.http.post(  # the first request again: the same answer, once
            f"/api/v1/dossiers/{code}/supplement",
            headers={**citizen, "Idempotency-Key": "bs-1"},
            data={"form": json.dumps({"muc_dich": "Du học"})},
        )
        assert retried.status_code == 202
        with p.db.session() as session:
            row = session.get(Dossier, code)
            assert row is not None and row.form_data["muc_dich"] == "Du học"
            events = session.exec(
                select(DossierEvent.action).where(DossierEvent.dossier_code == code)
            ).all()
        assert list(events).count("supplement") == 1


async def test_a_decision_while_temporal_is_unreachable_is_503(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        citizen, reception, code = await _submitted(p)
        # The API (re)started while Temporal is down: its first connect fails.
        p.app.state.temporal = None
        p.settings.temporal_address = f"127.0.0.1:{free_port()}"
        refused = await p.act(reception, code, "accept")
        assert refused.status_code == 503
        assert refused.json()["code"] == "temporal_unavailable"
        with p.db.session() as session:
            row = session.get(Dossier, code)
            assert row is not None and row.status == "SUBMITTED"


async def test_oversized_or_absurd_decision_bodies_are_refused_before_temporal(
    tmp_path: Path,
) -> None:
    async with portal(tmp_path) as p:
        citizen, reception, code = await _submitted(p)
        specialist = await p.login(p.official("chuyenvien", STP, "specialist"))
        leader = await p.login(p.official("lanhdao", STP, "leader"))
        for who, action, body in (
            (reception, "request_supplement", {"items": ["x" * 100_000]}),
            (specialist, "reject", {"reasons": ["y" * 100_000]}),
            (leader, "apologize", {"new_due": "9999-12-31T10:00:00+07:00", "reason": "Chậm"}),
            (reception, "record_counter_payment", {"receipt_no": "BL-1", "amount": 10**20}),
        ):
            answer = await p.act(who, code, action, body)
            assert answer.status_code == 422, (action, answer.text)
            assert answer.json()["code"] == "invalid_body"
        far = await p.submit(citizen, delivery="postal", address="Biên Hòa " * 100)
        assert far.status_code == 422
        assert far.json()["errors"]["delivery_address"].startswith("Địa chỉ nhận kết quả quá dài")


async def test_citizen_withdraws_while_waiting_for_reception(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        code = (await p.submit(citizen)).json()["dossier_code"]
        await p.settled(code)
        withdrawn = await p.http.post(f"/api/v1/dossiers/{code}/withdraw", headers=citizen)
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["status"] == "WITHDRAWN"
        again = await p.http.post(f"/api/v1/dossiers/{code}/withdraw", headers=citizen)
        assert again.status_code == 409
