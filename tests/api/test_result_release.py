"""A result issued before its fee is paid (payment_stage before_result) reaches the
citizen only once the dossier releases it: not by the document link, not in "my
documents", not by reusing it in another dossier."""

from __future__ import annotations

import json
from pathlib import Path

from .portal import COMMUNE, PDF_BYTES, Portal, portal

RESULT_BYTES = PDF_BYTES.replace(b"1.4", b"1.7")  # a different hash from the upload
CERTIFY_FORM = {"ten_giay_to": "Bằng tốt nghiệp", "so_trang": 1, "so_ban": 1}


async def _issued_awaiting_fee(p: Portal) -> tuple[dict[str, str], dict[str, str], str]:
    await p.register()
    citizen = await p.login("075203001234")
    reception = await p.login(p.official("tiepnhan.xa", COMMUNE, "reception"))
    specialist = await p.login(p.official("chuyenvien.xa", COMMUNE, "specialist"))
    leader = await p.login(p.official("chutich.xa", COMMUNE, "leader"))
    issuer = await p.login(p.official("vanthu.xa", COMMUNE, "issuer"))
    submitted = await p.submit(
        citizen,
        procedure="chung-thuc-ban-sao",
        agency=COMMUNE,
        form=CERTIFY_FORM,
        files=[("ban_chup_ban_chinh", ("bang.pdf", PDF_BYTES, "application/pdf"))],
        delivery="counter",
    )
    assert submitted.status_code == 201, submitted.text
    code = submitted.json()["dossier_code"]
    await p.settled(code)
    assert (await p.act(reception, code, "accept")).status_code == 200
    assert (await p.act(specialist, code, "approve")).status_code == 200
    assert (await p.act(leader, code, "approve")).status_code == 200
    issued = await p.http.post(
        f"/api/v1/dossiers/{code}/actions/issue_result",
        files={"result": ("ban-sao.pdf", RESULT_BYTES, "application/pdf")},
        headers=issuer,
    )
    assert issued.status_code == 200, issued.text
    assert issued.json()["status"] == "AWAITING_PAYMENT"
    return citizen, reception, code


async def test_a_result_waiting_for_its_fee_is_withheld_then_released(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        citizen, reception, code = await _issued_awaiting_fee(p)
        detail = (await p.http.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
        result = next(d for d in detail["documents"] if d["kind"] == "result")
        upload = next(d for d in detail["documents"] if d["kind"] != "result")
        link = f"/api/v1/dossiers/{code}/documents/{result['sha256']}"

        withheld = await p.http.get(link, headers=citizen)
        assert withheld.status_code == 404 and withheld.json()["code"] == "result_not_ready"
        assert RESULT_BYTES not in withheld.content
        sent = await p.http.get(
            f"/api/v1/dossiers/{code}/documents/{upload['sha256']}", headers=citizen
        )
        assert sent.status_code == 200 and sent.content == PDF_BYTES  # what they sent: yes
        assert (await p.http.get(link, headers=reception)).status_code == 200  # officials: yes
        result_link = await p.http.get(f"/api/v1/dossiers/{code}/result", headers=citizen)
        assert result_link.status_code == 404

        mine = (await p.http.get("/api/v1/me/documents", headers=citizen)).json()
        assert {d["origin"] for d in mine} == {"upload"}
        with p.db.session() as session:
            from sqlmodel import select

            from dichvucong.db.models import CitizenDocument

            saved = session.exec(
                select(CitizenDocument).where(CitizenDocument.origin == "result")
            ).one()  # kept from the issue on, only not shown
        reuse = await p.http.post(
            "/api/v1/dossiers",
            data={
                "procedure_code": "chung-thuc-ban-sao",
                "agency_code": COMMUNE,
                "delivery": "counter",
                "form": json.dumps(CERTIFY_FORM),
                "reuse_ban_chup_ban_chinh": str(saved.id),
            },
            headers=citizen,
        )
        assert reuse.status_code == 422, reuse.text
        assert "documents.ban_chup_ban_chinh" in reuse.json()["errors"]

        paid = await p.act(
            reception, code, "record_counter_payment", {"receipt_no": "BL-9", "amount": 2_000}
        )
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] in ("COMPLETED", "RESULT_READY")
        released = await p.http.get(link, headers=citizen)
        assert released.status_code == 200 and released.content == RESULT_BYTES
        mine = (await p.http.get("/api/v1/me/documents", headers=citizen)).json()
        assert {d["origin"] for d in mine} == {"upload", "result"}
