"""The citizen's pages over ASGI: forms with CSRF, server-side validation
messages, submission through the page form, lookup masking, page weights."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from sqlalchemy import func
from sqlmodel import select

from dichvucong.db.models import Dossier
from tests.api.portal import LLTP_FORM, PASSWORD, PDF_BYTES, STP, Portal, portal

HTML = {"Accept": "text/html"}
MAX_PAGE = 100 * 1024
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
IDEM = re.compile(r'name="idempotency_key" value="([^"]+)"')
SIZES: dict[str, int] = {}


async def page(http: httpx.AsyncClient, url: str, status: int = 200) -> httpx.Response:
    response = await http.get(url, headers=HTML)
    assert response.status_code == status, (url, response.status_code, response.text[:500])
    if response.headers.get("content-type", "").startswith("text/html"):
        key = url.split("?")[0]
        SIZES[key] = max(SIZES.get(key, 0), len(response.content))
        assert len(response.content) < MAX_PAGE, (url, len(response.content))
    return response


def token(response: httpx.Response) -> str:
    match = CSRF.search(response.text)
    assert match, "no csrf field on the page"
    return match.group(1)


async def post(
    http: httpx.AsyncClient, form_url: str, action: str, data: dict, files=None
) -> httpx.Response:
    """GET the page with the form, then POST with its CSRF field (cookies kept)."""
    form_page = await page(http, form_url)
    response = await http.post(
        action, data={**data, "csrf_token": token(form_page)}, files=files, headers=HTML
    )
    assert len(response.content) < MAX_PAGE
    return response


REGISTRATION = {
    "full_name": "Nguyễn Văn An",
    "id_number": "075203001234",
    "date_of_birth": "2003-05-17",
    "phone": "0912345678",
    "address": "12 Võ Thị Sáu, Biên Hòa",
    "email": "an@example.vn",
    "password": PASSWORD,
}


def page_form(values: dict | None = None) -> dict:
    """LLTP_FORM as the page's fields are named (f.<key>, checkboxes "on")."""
    data = {}
    for key, value in (values or LLTP_FORM).items():
        if value is True:
            data[f"f.{key}"] = "on"
        elif value is not False:
            data[f"f.{key}"] = str(value)
    return data


async def submit_page(p: Portal, data: dict, files=None, key: str | None = None) -> httpx.Response:
    form_page = await page(p.http, "/nop-ho-so/ly-lich-tu-phap")
    idem = key or IDEM.search(form_page.text).group(1)  # type: ignore[union-attr]
    body = {
        "csrf_token": token(form_page),
        "idempotency_key": idem,
        "agency_code": STP,
        "delivery": "online",
        "hanh_dong": "nop",
        **data,
    }
    return await p.http.post("/nop-ho-so/ly-lich-tu-phap", data=body, files=files, headers=HTML)


def dossier_count(p: Portal) -> int:
    with p.db.session() as session:
        return session.exec(select(func.count()).select_from(Dossier)).one()


async def test_public_pages(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        home = await page(p.http, "/")
        assert 'action="/thu-tuc"' in home.text and 'action="/tra-cuu"' in home.text
        for step in ("Đăng ký", "Đăng nhập", "Nộp hồ sơ", "Nhận kết quả"):
            assert step in home.text
        assert "hồ sơ đã tiếp nhận" in home.text and "đúng hạn" in home.text

        # Search without diacritics finds the procedure written with them.
        found = await page(p.http, "/thu-tuc?q=ly+lich")
        assert "Lý lịch tư pháp" in found.text
        assert "/thu-tuc/ly-lich-tu-phap" in found.text
        assert "/thu-tuc/dang-ky-khai-sinh" not in found.text
        filtered = await page(p.http, "/thu-tuc?cap=commune&muc_do=full")
        assert "/thu-tuc/ly-lich-tu-phap" not in filtered.text

        proc = await page(p.http, "/thu-tuc/ly-lich-tu-phap")
        for part in (
            "Thành phần hồ sơ",
            "Mẫu số 03/2013/TT-LLTP",
            "200.000 đ",
            "10 ngày làm việc",
            "Sở Tư pháp tỉnh Đồng Nai",
            "Luật Lý lịch tư pháp",
            "Trình tự thực hiện",
            "bưu chính",
        ):
            assert part in proc.text, part
        assert 'href="/nop-ho-so/ly-lich-tu-phap"' in proc.text

        # A level-2 procedure offers its forms only: no submit button, no submit page.
        level2 = await page(p.http, "/thu-tuc/dang-ky-trung-tam-tu-van-phap-luat")
        assert "/nop-ho-so/" not in level2.text
        assert "Nộp hồ sơ trực tuyến" not in level2.text
        await page(p.http, "/nop-ho-so/dang-ky-trung-tam-tu-van-phap-luat", status=409)
        await page(p.http, "/thu-tuc/khong-co", status=404)

        # Login required, with a safe way back.
        response = await p.http.get("/nop-ho-so/ly-lich-tu-phap", headers=HTML)
        assert response.status_code == 303
        assert response.headers["location"] == "/dang-nhap?next=/nop-ho-so/ly-lich-tu-phap"

        # A form posted without its CSRF field is refused.
        await page(p.http, "/dang-nhap")
        refused = await p.http.post(
            "/dang-nhap", data={"username": "x", "password": "y"}, headers=HTML
        )
        assert refused.status_code == 403
        assert "Phiên làm việc" in refused.text
        wrong = await p.http.post(
            "/dang-nhap",
            data={"username": "x", "password": "y", "csrf_token": "forged"},
            headers=HTML,
        )
        assert wrong.status_code == 403


async def test_register_errors_login_and_account(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        bad = await post(p.http, "/dang-ky", "/dang-ky", {**REGISTRATION, "id_number": "07520300"})
        assert bad.status_code == 422
        assert "Số CCCD phải gồm đúng 12 chữ số." in bad.text
        assert 'value="Nguyễn Văn An"' in bad.text and 'value="0912345678"' in bad.text
        assert 'value="07520300"' in bad.text
        assert 'aria-describedby="fld-id-number-error' in bad.text
        assert PASSWORD not in bad.text  # the password is never sent back

        # Century/gender digit and birth year must agree with the date of birth.
        mismatch = await post(
            p.http, "/dang-ky", "/dang-ky", {**REGISTRATION, "date_of_birth": "1990-05-17"}
        )
        assert mismatch.status_code == 422
        assert "không khớp với ngày sinh" in mismatch.text

        missing = await post(
            p.http, "/dang-ky", "/dang-ky", {**REGISTRATION, "full_name": "", "address": ""}
        )
        assert "Vui lòng nhập họ và tên." in missing.text
        assert "Vui lòng nhập địa chỉ." in missing.text

        ok = await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        assert ok.status_code == 303, ok.text[:2000]
        account = await page(p.http, ok.headers["location"])
        assert "Đăng ký thành công" in account.text and "075203001234" in account.text

        out = await post(p.http, "/tai-khoan", "/dang-xuat", {})
        assert out.status_code == 303
        assert (await p.http.get("/ho-so", headers=HTML)).status_code == 303

        # Wrong password: one vague message, username kept.
        failed = await post(
            p.http, "/dang-nhap", "/dang-nhap", {"username": "0912345678", "password": "sai"}
        )
        assert failed.status_code == 401
        assert "không đúng" in failed.text and 'value="0912345678"' in failed.text

        # By phone, going back where the citizen wanted to go.
        login = await post(
            p.http,
            "/dang-nhap?next=/nop-ho-so/ly-lich-tu-phap",
            "/dang-nhap",
            {"username": "0912345678", "password": PASSWORD, "next": "/nop-ho-so/ly-lich-tu-phap"},
        )
        assert login.status_code == 303
        assert login.headers["location"] == "/nop-ho-so/ly-lich-tu-phap"
        assert "dvc_session" in login.headers.get("set-cookie", "")
        assert "httponly" in login.headers["set-cookie"].lower()

        # Never to another site.
        for evil in ("https://evil.example/", "//evil.example", "/\\evil.example"):
            again = await post(
                p.http,
                "/dang-nhap",
                "/dang-nhap",
                {"username": "075203001234", "password": PASSWORD, "next": evil},
            )
            assert again.headers["location"] == "/ho-so", evil

        # Profile update with a bad phone keeps the values and says why.
        bad_profile = await post(
            p.http,
            "/tai-khoan",
            "/tai-khoan",
            {"full_name": "Nguyễn Văn Ân", "phone": "123", "email": "", "address": "Biên Hòa"},
        )
        assert bad_profile.status_code == 422
        assert "Số điện thoại phải gồm 10 chữ số" in bad_profile.text
        assert 'value="Nguyễn Văn Ân"' in bad_profile.text
        saved = await post(
            p.http,
            "/tai-khoan",
            "/tai-khoan",
            {"full_name": "Nguyễn Văn Ân", "phone": "0912345679", "email": "", "address": "X"},
        )
        assert saved.status_code == 303

        wrong_pw = await post(
            p.http,
            "/tai-khoan",
            "/tai-khoan/mat-khau",
            {
                "current_password": "sai-roi",
                "new_password": "moi-12345",
                "new_password_again": "moi-12345",
            },
        )
        assert "Mật khẩu hiện tại không đúng." in wrong_pw.text
        changed = await post(
            p.http,
            "/tai-khoan",
            "/tai-khoan/mat-khau",
            {
                "current_password": PASSWORD,
                "new_password": "moi-12345",
                "new_password_again": "moi-12345",
            },
        )
        assert changed.status_code == 303
        await p.login("075203001234", "moi-12345")


async def test_submit_track_lookup_and_reuse(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        form_page = await page(p.http, "/nop-ho-so/ly-lich-tu-phap")
        text = form_page.text
        # The e-form from the catalog: labels tied to inputs, required marks, prefill.
        assert '<label for="f-ho_ten">Họ và tên <span class="required"' in text
        assert 'id="f-ho_ten" name="f.ho_ten" required aria-required="true"' in text
        assert 'value="075203001234"' in text
        assert 'type="file" id="tep-giay_to_tuy_than" name="tep.giay_to_tuy_than"' in text
        assert 'accept=".pdf,application/pdf,.jpg,.jpeg,image/jpeg" multiple' in text
        assert 'name="delivery" value="postal"' in text
        assert "200.000 đ (gồm 2 bản)" in text

        # Errors: messages next to the fields, values kept, files to attach again.
        form = page_form({**LLTP_FORM, "so_ban": 4, "muc_dich": "", "cam_doan": False})
        invalid = await submit_page(
            p,
            {**form, "delivery": "postal", "delivery_address": ""},
            files=[("tep.giay_to_mien_giam", ("giay.pdf", PDF_BYTES, "application/pdf"))],
        )
        assert invalid.status_code == 422
        body = invalid.text
        assert 'id="f-muc_dich-error"' in body and 'aria-describedby="f-muc_dich-error' in body
        assert 'id="f-cam_doan-error"' in body
        assert "Vui lòng đính kèm: Bản chụp Thẻ Căn cước" in body
        assert "Vui lòng nhập địa chỉ nhận kết quả qua bưu chính." in body
        assert 'value="Biên Hòa, Đồng Nai"' in body
        assert "đính kèm lại các tệp" in body
        assert "210.000 đ" in body  # 200.000 đ for 2 copies + 2 × 5.000 đ
        assert dossier_count(p) == 0

        # Fee only: no dossier, the amount shown.
        fee_only = await submit_page(p, {**page_form(), "hanh_dong": "tinh_phi"})
        assert fee_only.status_code == 200 and "200.000 đ" in fee_only.text
        assert dossier_count(p) == 0

        # A disguised file (text named .pdf) is refused by content.
        disguised = await submit_page(
            p,
            page_form(),
            files=[("tep.giay_to_tuy_than", ("cccd.pdf", b"not a pdf at all", "application/pdf"))],
        )
        assert disguised.status_code == 422 and "kiểm tra theo nội dung tệp" in disguised.text
        assert dossier_count(p) == 0

        # The real thing, sent twice with the same idempotency key: one dossier.
        key = "page-key-1"
        files = [("tep.giay_to_tuy_than", ("cccd.pdf", PDF_BYTES, "application/pdf"))]
        first = await submit_page(p, page_form(), files=files, key=key)
        assert first.status_code == 303, first.text[:3000]
        second = await submit_page(p, page_form(), files=files, key=key)
        assert second.headers["location"] == first.headers["location"]
        assert dossier_count(p) == 1
        location = first.headers["location"]
        assert location.startswith(f"/ho-so/{STP}-") and location.endswith("?moi=1")
        code = location.split("/")[2].split("?")[0]
        assert re.fullmatch(rf"{re.escape(STP)}-\d{{6}}-\d{{4}}", code)

        done = await page(p.http, location)
        assert code in done.text and "Chờ tiếp nhận" in done.text
        assert f"/ho-so/{code}/phieu-hen" in done.text
        assert "Rút hồ sơ" in done.text
        with p.db.session() as session:
            sha = session.exec(select(Dossier)).one()
        doc_link = re.search(
            rf"/api/v1/dossiers/{re.escape(code)}/documents/[0-9a-f]{{64}}", done.text
        )
        assert doc_link, "document link"
        downloaded = await p.http.get(doc_link.group(0))
        assert downloaded.status_code == 200 and downloaded.content == PDF_BYTES
        assert sha.delivery == "online"

        listing = await page(p.http, "/ho-so")
        assert code in listing.text

        # My documents: the upload is kept, downloadable, and reusable.
        docs = await page(p.http, "/giay-to-cua-toi")
        doc_id = re.search(r'href="/giay-to-cua-toi/(\d+)"', docs.text).group(1)  # type: ignore[union-attr]
        got = await p.http.get(f"/giay-to-cua-toi/{doc_id}")
        assert got.status_code == 200 and got.content == PDF_BYTES
        form_again = await page(p.http, "/nop-ho-so/ly-lich-tu-phap")
        assert f'name="dung_lai.giay_to_tuy_than" value="{doc_id}"' in form_again.text
        reused = await submit_page(p, {**page_form(), "dung_lai.giay_to_tuy_than": doc_id})
        assert reused.status_code == 303, reused.text[:3000]
        assert dossier_count(p) == 2

        # Withdraw through the page.
        await p.settled(code)
        withdrawn = await post(
            p.http, f"/ho-so/{code}", f"/ho-so/{code}/rut", {"reason": "Nộp nhầm"}
        )
        assert withdrawn.status_code == 303
        assert "Đã rút" in (await page(p.http, withdrawn.headers["location"])).text

        # Another citizen sees a 404 page, not the dossier.
        await post(p.http, "/tai-khoan", "/dang-xuat", {})
        await post(
            p.http,
            "/dang-ky",
            "/dang-ky",
            {
                **REGISTRATION,
                "full_name": "Trần Văn Bình",
                "id_number": "075203009999",
                "phone": "0987654321",
                "email": "",
            },
        )
        other = await page(p.http, f"/ho-so/{code}", status=404)
        assert "Không tìm thấy hồ sơ" in other.text and "Nguyễn Văn An" not in other.text
        assert (await p.http.get(f"/giay-to-cua-toi/{doc_id}", headers=HTML)).status_code == 404

        # Public lookup (signed out): by code, by CCCD, by the QR's URL; name masked.
        await post(p.http, "/tai-khoan", "/dang-xuat", {})
        for q in (code, "075203001234", f"http://portal.test/tra-cuu?q={code}"):
            found = await page(p.http, f"/tra-cuu?q={q}")
            assert code in found.text, q
            assert "Nguyễn V" in found.text and "Nguyễn Văn An" not in found.text, q
            assert "Sở Tư pháp tỉnh Đồng Nai" in found.text
        nothing = await page(p.http, "/tra-cuu?q=000.00.12.H19-010101-9999")
        assert "Không tìm thấy hồ sơ" in nothing.text

        # Rate limited by the configured lookup bucket (60 a minute per address by default):
        # the lookup tells who filed what, so no bulk probing.
        answers = [await p.http.get(f"/tra-cuu?q=0752030{n:05d}", headers=HTML) for n in range(70)]
        statuses = [a.status_code for a in answers]
        assert statuses[-1] == 429 and 200 in statuses
        assert answers[-1].headers.get("retry-after")

        print("page sizes (bytes):", dict(sorted(SIZES.items())))


async def test_supplement_payment_and_rating(tmp_path: Path, monkeypatch) -> None:
    async with portal(tmp_path) as p:
        await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
        citizen = await p.login("075203001234")
        reception = await p.login(p.official("tiepnhan", STP, "reception"))
        code = (await p.submit(citizen)).json()["dossier_code"]
        await p.settled(code)

        asked = await p.act(
            reception, code, "request_supplement", {"items": ["Bản chụp CCCD rõ nét hơn"]}
        )
        assert asked.json()["status"] == "SUPPLEMENT_REQUESTED"
        detail_page = await page(p.http, f"/ho-so/{code}")
        assert "Bản chụp CCCD rõ nét hơn" in detail_page.text
        assert f'action="/ho-so/{code}/bo-sung"' in detail_page.text

        empty = await post(p.http, f"/ho-so/{code}", f"/ho-so/{code}/bo-sung", {"note": "x"})
        assert empty.status_code == 422 and "ít nhất một giấy tờ" in empty.text
        sent = await post(
            p.http,
            f"/ho-so/{code}",
            f"/ho-so/{code}/bo-sung",
            {"note": "Đã chụp lại"},
            files=[
                ("tep.giay_to_tuy_than", ("cccd-moi.pdf", PDF_BYTES + b"%n", "application/pdf"))
            ],
        )
        assert sent.status_code == 303, sent.text[:2000]
        await p.settled(code, seq=2)
        after = await page(p.http, sent.headers["location"])
        assert "Đã gửi hồ sơ bổ sung" in after.text and "cccd-moi.pdf" in after.text
        assert "Chờ tiếp nhận" in after.text

        # Accepted: the fee is due, the page offers the payment button.
        accepted = await p.act(reception, code, "accept")
        assert accepted.json()["status"] == "AWAITING_PAYMENT"
        to_pay = await page(p.http, f"/ho-so/{code}")
        assert "Thanh toán trực tuyến" in to_pay.text and "200.000 đ" in to_pay.text

        async def fake_start(settings, dossier, **_):  # the gateway is another test's concern
            return f"http://gateway.test/pay/{dossier.code}"

        monkeypatch.setattr("dichvucong.integrations.payment_gateway.start_payment", fake_start)
        paying = await post(p.http, f"/ho-so/{code}", f"/ho-so/{code}/thanh-toan", {})
        assert paying.status_code == 303
        assert paying.headers["location"] == f"http://gateway.test/pay/{code}"

        # Rating once, after completion (the row is set to COMPLETED here: the
        # whole processing chain is the workflow tests' concern).
        await page(p.http, f"/ho-so/{code}")
        early = await post(
            p.http, f"/ho-so/{code}", f"/ho-so/{code}/danh-gia", {"level": "satisfied"}
        )
        assert early.status_code == 409
        with p.db.session() as session:
            row = session.get(Dossier, code)
            assert row is not None
            row.status = "COMPLETED"
            session.add(row)
            session.commit()
        completed = await page(p.http, f"/ho-so/{code}")
        assert 'name="level" value="very_satisfied"' in completed.text
        rated = await post(
            p.http,
            f"/ho-so/{code}",
            f"/ho-so/{code}/danh-gia",
            {"level": "very_satisfied", "comment": "Nhanh"},
        )
        assert rated.status_code == 303
        shown = await page(p.http, rated.headers["location"])
        assert "Bạn đã đánh giá" in shown.text and 'name="level"' not in shown.text
        twice = await p.http.post(
            f"/ho-so/{code}/danh-gia",
            data={"level": "unsatisfied", "csrf_token": token(shown)},
            headers=HTML,
        )
        assert twice.status_code == 409


async def test_the_frameworks_english_never_reaches_a_page(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        html = {"Accept": "text/html"}
        no_boundary = await p.http.post(
            "/dang-nhap",
            content=b"x",
            headers={**html, "Content-Type": "multipart/form-data"},
        )
        typed_in = await p.http.get("/dang-xuat", headers=html)  # a POST-only address
        api = await p.http.get("/dang-xuat")
        for answer in (no_boundary, typed_in):
            assert answer.status_code in (400, 405)
            assert "text/html" in answer.headers["content-type"]
            assert "multipart" not in answer.text and "Method Not Allowed" not in answer.text
        assert "Địa chỉ này không hỗ trợ thao tác được yêu cầu." in typed_in.text
        assert api.json()["detail"] == "Địa chỉ này không hỗ trợ thao tác được yêu cầu."
