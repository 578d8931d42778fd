"""Audit findings on error answers: a fault of ours (the database broken, a bug) is a
Vietnamese page or a problem body, never the framework's English text; a browser
opening one of our /api/ download links gets pages (or the login) rather than JSON;
a signed-out browser on the officials' pages is sent to their login."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.api.portal import PASSWORD, Portal, portal
from tests.pages.test_citizen_pages import HTML, REGISTRATION, post

# What Chrome and Firefox send when following a link.
BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Sec-Fetch-Mode": "navigate",
}
JSON = {"Accept": "application/json"}
PROBLEM = "application/problem+json"


async def signed_in_citizen(p: Portal) -> dict[str, str]:
    """The citizen's browser session on ``p.http``, and a bearer token for the API."""
    await post(p.http, "/dang-ky", "/dang-ky", REGISTRATION)
    signed = await post(
        p.http, "/dang-nhap", "/dang-nhap", {"username": "0912345678", "password": "mat-khau-2026"}
    )
    assert signed.status_code == 303, signed.text
    return await p.login("075203001234")


def assert_error_page(response: httpx.Response, status: int, *sentences: str) -> None:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in response.text
    # Answered inside the security middleware: the page carries its headers too.
    assert "frame-ancestors" in response.headers["content-security-policy"]
    for sentence in sentences:
        assert sentence in response.text


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["detail"].startswith("Hệ thống")
    return body


def logged_unexpected(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.getMessage().startswith("unexpected_error") and r.exc_info
    ]


async def test_a_broken_database_is_a_vietnamese_page_and_a_problem_body(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with portal(tmp_path) as p:
        citizen = await signed_in_citizen(p)
        with p.db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE dossier RENAME TO dossier_moved"))
        try:
            caplog.set_level(logging.ERROR, logger="dichvucong.api")
            # SQLite says "no such table" with an OperationalError: 503, try again later.
            for url in ("/ho-so", "/tra-cuu?q=H19.12-260101-0001"):
                answer = await p.http.get(url, headers=HTML)
                assert_error_page(
                    answer, 503, "Dịch vụ tạm thời gián đoạn", "Vui lòng thử lại sau", 'href="/"'
                )
                assert "Internal Server Error" not in answer.text
            api = await p.http.get("/api/v1/me/dossiers", headers={**citizen, **JSON})
            assert_problem(api, 503, "service_unavailable")
            # The traceback is in the log, once per request (the path, not the query).
            records = logged_unexpected(caplog)
            assert len(records) == 3
            assert {r.exc_info[0].__name__ for r in records if r.exc_info} == {"OperationalError"}
            assert all("H19.12" not in r.getMessage() for r in records)
        finally:
            with p.db.engine.begin() as conn:
                conn.execute(text("ALTER TABLE dossier_moved RENAME TO dossier"))
        assert (await p.http.get("/ho-so", headers=HTML)).status_code == 200


async def test_a_bug_is_a_500_page_for_browsers_and_a_problem_for_clients(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("a bug")

    async with portal(tmp_path) as p:
        p.app.add_api_route("/kiem-tra-loi", broken)
        p.app.add_api_route("/api/v1/kiem-tra-loi", broken)
        caplog.set_level(logging.ERROR, logger="dichvucong.api")

        page = await p.http.get("/kiem-tra-loi", headers=HTML)
        assert_error_page(page, 500, "Có lỗi xảy ra", "Vui lòng thử lại sau", "Về trang chủ")
        assert_problem(
            await p.http.get("/api/v1/kiem-tra-loi", headers=JSON), 500, "internal_error"
        )
        assert_problem(await p.http.get("/api/v1/kiem-tra-loi"), 500, "internal_error")
        opened = await p.http.get("/api/v1/kiem-tra-loi", headers=BROWSER)
        assert_error_page(opened, 500, "Có lỗi xảy ra")
        assert len(logged_unexpected(caplog)) == 4


async def test_links_to_api_downloads_answer_a_browser_with_pages(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        receipt = "/api/v1/dossiers/H19.12-260101-0001/receipt.pdf"
        # Signed out, following the link: to the citizen's login, and back afterwards.
        for headers in (BROWSER, {"Accept": BROWSER["Accept"]}):
            opened = await p.http.get(receipt, headers=headers)
            assert opened.status_code == 303
            assert opened.headers["location"] == f"/dang-nhap?next={receipt}"
        # API clients keep their problem body, as before.
        for headers in (JSON, {}, {"Accept": "application/json, text/html;q=0.5"}):
            refused = await p.http.get(receipt, headers=headers)
            assert refused.status_code == 401
            assert refused.headers["content-type"] == PROBLEM
            assert refused.json()["code"] == "unauthenticated"

        citizen = await signed_in_citizen(p)
        submitted = await p.submit(citizen)
        assert submitted.status_code == 201, submitted.text
        code = submitted.json()["dossier_code"]
        await p.settled(code)
        mine = f"/api/v1/dossiers/{code}/receipt.pdf"
        back = await post(
            p.http,
            f"/dang-nhap?next={mine}",
            "/dang-nhap",
            {"username": "0912345678", "password": "mat-khau-2026", "next": mine},
        )
        assert back.status_code == 303 and back.headers["location"] == mine
        pdf = await p.http.get(mine, headers=BROWSER)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"

        # No result yet: a Vietnamese page in the browser, the problem body for the API.
        result = f"/api/v1/dossiers/{code}/result"
        assert_error_page(
            await p.http.get(result, headers=BROWSER), 404, "Hồ sơ chưa có kết quả để tải về."
        )
        missing = await p.http.get(result, headers={**citizen, **JSON})
        assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
        assert missing.json()["code"] == "result_not_ready"


async def test_a_signed_out_browser_on_officials_pages_goes_to_their_login(
    tmp_path: Path,
) -> None:
    async with portal(tmp_path) as p:
        for url, target in (
            ("/giam-sat", "/giam-sat"),
            ("/giam-sat?agency=000.00.12.H19", "/giam-sat%3Fagency%3D000.00.12.H19"),
            ("/can-bo", "/can-bo"),
        ):
            opened = await p.http.get(url, headers=HTML)
            assert opened.status_code == 303, opened.text[:300]
            assert opened.headers["location"] == f"/can-bo/dang-nhap?next={target}"
        # The officials' API and a refused form post keep answering 401.
        api = await p.http.get("/api/v1/official/inbox", headers=JSON)
        assert api.status_code == 401 and api.headers["content-type"] == PROBLEM
        posted = await p.http.post(
            "/api/v1/auth/token", data={"username": "x", "password": "y"}, headers=HTML
        )
        assert posted.status_code == 401


async def test_signing_in_from_supervision_goes_back_there(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        name = p.official("giamsat", "000.00.12.H19", "supervisor")
        login = "/can-bo/dang-nhap?next=/giam-sat%3Fagency%3D000.00.12.H19"
        signed_in = await post(p.http, login, "/can-bo/dang-nhap", {
            "username": name, "password": PASSWORD, "next": "/giam-sat?agency=000.00.12.H19"})  # fmt: skip
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/giam-sat?agency=000.00.12.H19"
