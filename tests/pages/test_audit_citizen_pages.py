"""Audit findings on the citizen's side: saved documents reused only where their type
fits, supplements that fail leave no stored file behind, the payment return page,
the empty-file message and the home page when the statistics fail."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from dichvucong.db.models import Dossier
from tests.api.portal import JPEG_BYTES, LLTP_FORM, PDF_BYTES, STP, Portal, portal
from tests.pages.test_citizen_pages import HTML, REGISTRATION, page, post

TYPE_REFUSED = "Tệp «uq.jpg» không đúng loại cho phép (PDF)."


def stored_files(p: Portal) -> set[str]:
    root = p.settings.resolved_documents_dir
    return {f.name for f in Path(root).glob("??/??/*")}


async def saved_jpeg(p: Portal, citizen: dict[str, str]) -> int:
    """A first dossier with a JPEG id card: the JPEG joins "my documents" (as uq.jpg)."""
    first = await p.submit(citizen, files=[("giay_to_tuy_than", ("uq.jpg", JPEG_BYTES,
                                                                 "image/jpeg"))])  # fmt: skip
    assert first.status_code == 201, first.text
    docs = (await p.http.get("/api/v1/me/documents", headers=citizen)).json()
    return next(d["id"] for d in docs if d["media_type"] == "image/jpeg")


async def waiting_for_supplement(p: Portal, citizen: dict[str, str]) -> str:
    reception = await p.login(p.official("tiepnhan", STP, "reception"))
    code = (await p.submit(citizen)).json()["dossier_code"]
    await p.settled(code)
    asked = await p.act(reception, code, "request_supplement", {"items": ["Văn bản ủy quyền"]})
    assert asked.json()["status"] == "SUPPLEMENT_REQUESTED"
    await p.settled(code, seq=1)
    return code


def read_model_waits_again(p: Portal, code: str) -> None:
    """The read model says "waiting for a supplement" once more (as when it lags behind
    the workflow): the workflow itself refuses the next supplement."""
    with p.db.session() as session:
        row = session.get(Dossier, code)
        assert row is not None
        row.status = "SUPPLEMENT_REQUESTED"
        session.add(row)
        session.commit()


async def test_a_saved_document_must_fit_the_slot_it_is_reused_in(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        citizen = await p.login("075203001234")
        jpeg_id = await saved_jpeg(p, citizen)

        # The API submission: van_ban_uy_quyen takes PDF only, as an upload would.
        data = {"procedure_code": "ly-lich-tu-phap", "agency_code": STP, "delivery": "online",
                "form": json.dumps(LLTP_FORM), "reuse_van_ban_uy_quyen": str(jpeg_id)}  # fmt: skip
        reused = await p.http.post(
            "/api/v1/dossiers", data=data, headers=citizen,
            files=[("giay_to_tuy_than", ("a.pdf", PDF_BYTES, "application/pdf"))],
        )  # fmt: skip
        assert reused.status_code == 422, reused.text
        assert reused.json()["errors"]["documents.van_ban_uy_quyen"] == TYPE_REFUSED

        # The supplement page: the same rule, and a saved document whose file is gone.
        code = await waiting_for_supplement(p, citizen)
        wrong = await post(p.http, f"/ho-so/{code}", f"/ho-so/{code}/bo-sung",
                           {"dung_lai.van_ban_uy_quyen": str(jpeg_id)})  # fmt: skip
        assert wrong.status_code == 422 and TYPE_REFUSED in wrong.text
        docs = (await p.http.get("/api/v1/me/documents", headers=citizen)).json()
        pdf = next(d for d in docs if d["media_type"] == "application/pdf")
        p.app.state.documents.delete(pdf["sha256"])
        gone = await post(p.http, f"/ho-so/{code}", f"/ho-so/{code}/bo-sung",
                          {"dung_lai.giay_to_tuy_than": str(pdf["id"])})  # fmt: skip
        assert gone.status_code == 422
        assert "Không tìm thấy giấy tờ đã lưu được chọn." in gone.text
        with p.db.session() as session:
            assert session.get(Dossier, code).status == "SUPPLEMENT_REQUESTED"  # type: ignore[union-attr]


async def test_a_failed_supplement_leaves_no_stored_file(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        citizen = await p.login("075203001234")
        code = await waiting_for_supplement(p, citizen)
        before = stored_files(p)

        # A wrong form change: refused before the file is stored.
        invalid = await p.http.post(
            f"/api/v1/dossiers/{code}/supplement", headers=citizen,
            data={"form": json.dumps({"so_ban": 99})},
            files=[("giay_to_tuy_than", ("moi.pdf", PDF_BYTES + b"%orphan1", "application/pdf"))],
        )  # fmt: skip
        assert invalid.status_code == 422 and "form.so_ban" in invalid.json()["errors"]
        assert stored_files(p) == before

        sent = await p.http.post(
            f"/api/v1/dossiers/{code}/supplement", headers=citizen, data={"note": "ok"},
            files=[("giay_to_tuy_than", ("b.pdf", PDF_BYTES + b"%good", "application/pdf"))],
        )  # fmt: skip
        assert sent.status_code == 202, sent.text
        await p.settled(code, seq=2)
        taken = stored_files(p)
        assert len(taken) == len(before) + 1

        # The workflow refuses (no longer waiting): the API's and the page's files go.
        read_model_waits_again(p, code)
        refused = await p.http.post(
            f"/api/v1/dossiers/{code}/supplement", headers=citizen, data={"note": "again"},
            files=[("giay_to_tuy_than", ("c.pdf", PDF_BYTES + b"%orphan2", "application/pdf"))],
        )  # fmt: skip
        assert refused.status_code == 409, refused.text
        assert stored_files(p) == taken
        on_page = await post(
            p.http, f"/ho-so/{code}", f"/ho-so/{code}/bo-sung", {"note": "lần nữa"},
            files=[("tep.giay_to_tuy_than", ("d.pdf", PDF_BYTES + b"%orphan3",
                                             "application/pdf"))],
        )  # fmt: skip
        assert on_page.status_code == 409, on_page.text[:500]
        assert stored_files(p) == taken


async def test_back_from_the_payment_gateway_the_page_does_not_offer_to_pay_again(
    tmp_path: Path,
) -> None:
    async with portal(tmp_path) as p:
        await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        citizen = await p.login("075203001234")
        reception = await p.login(p.official("tiepnhan", STP, "reception"))
        code = (await p.submit(citizen)).json()["dossier_code"]
        await p.settled(code)
        accepted = await p.act(reception, code, "accept")
        assert accepted.json()["status"] == "AWAITING_PAYMENT"
        await p.settled(code, seq=1)

        back = await page(p.http, f"/ho-so/{code}?thanh-toan=1")
        assert "Đã ghi nhận giao dịch thanh toán" in back.text
        assert "Thanh toán đang được xác nhận" in back.text
        assert "không thanh toán lại" in back.text
        assert "Thanh toán trực tuyến" not in back.text
        assert f'action="/ho-so/{code}/thanh-toan"' not in back.text

        later = await page(p.http, f"/ho-so/{code}")
        assert "Thanh toán trực tuyến" in later.text
        assert "Đã ghi nhận giao dịch thanh toán" not in later.text


async def test_an_empty_file_is_called_empty(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        empty = await p.submit(citizen, files=[("giay_to_tuy_than", ("trong.pdf", b"",
                                                                    "application/pdf"))])  # fmt: skip
        assert empty.status_code == 422
        assert empty.json()["errors"]["documents.giay_to_tuy_than"] == "Tệp «trong.pdf» rỗng."


async def test_the_home_page_shows_no_figures_when_the_statistics_fail(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        home = await page(p.http, "/")
        assert "Số liệu cập nhật trực tiếp" in home.text
        with p.db.engine.begin() as conn:  # the statistics' table is gone
            conn.execute(text("ALTER TABLE dossier RENAME TO dossier_moved"))
        failed = await p.http.get("/", headers=HTML)
        assert failed.status_code == 200
        assert failed.text.count("<strong>—</strong>") == 4
        assert "Số liệu tạm thời chưa cập nhật được" in failed.text
