"""Sign-in with VNeID in a real Chromium against the simulated OpenID provider, the
portal served by uvicorn on a loopback port in the test's loop: an account registered
with a password is entered only once its owner linked it, signed in; a first sign-in
without an account creates one; a tampered state or nonce is refused; password
sign-in keeps working."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from sqlmodel import select

from dichvucong.accounts.citizens import CitizenCreate, register_citizen
from dichvucong.accounts.tokens import SESSION_COOKIE
from dichvucong.app import create_app
from dichvucong.db.engine import Database
from dichvucong.db.models import CitizenAccount
from dichvucong.seed import seed
from dichvucong.settings import Settings
from tests.browser.conftest import chromium, chromium_path, serving
from tests.conftest import free_port

pytestmark = pytest.mark.browser

PASSWORD = "mat-khau-2026"
KNOWN_CCCD = "079203001234"  # the simulator's first identity
NEW_CCCD = "075190000456"  # the simulator's second identity: no account yet


@dataclass
class Live:
    base_url: str
    db: Database
    browser: Any

    def url(self, path: str) -> str:
        return self.base_url + path


@asynccontextmanager
async def live_portal(tmp_path: Path) -> AsyncIterator[Live]:
    chromium_path()  # skip (or fail in CI) before starting anything
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        var_dir=tmp_path,
        environment="test",
        secret_key="test-secret-0123456789",
        public_base_url=base_url,
    )
    seed(settings)
    db = Database(settings.resolved_database_url)
    with db.session() as session:  # a password account with the first identity's CCCD
        register_citizen(
            session=session,
            data=CitizenCreate(
                full_name="Nguyễn Văn An",
                id_number=KNOWN_CCCD,
                date_of_birth=date(2003, 5, 14),
                phone="0911111111",
                email=None,
                address="Biên Hòa",
                password=PASSWORD,
            ),
        )
    app = create_app(settings)
    try:
        async with serving(app, port), chromium() as browser:
            yield Live(base_url, db, browser)
    finally:
        db.dispose()


async def _session_cookie(context: Any) -> str | None:
    return next((c["value"] for c in await context.cookies() if c["name"] == SESSION_COOKIE), None)


def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_vneid_sign_in_links_creates_and_refuses_tampering(tmp_path: Path) -> None:
    async with live_portal(tmp_path) as live:
        # 1. A password account with the same CCCD proves nothing (anyone may have typed
        #    it): VNeID does not enter it until its owner links it, signed in.
        context = await live.browser.new_context(locale="vi-VN")
        page = await context.new_page()
        page.set_default_timeout(15_000)
        await page.goto(live.url("/dang-nhap/vneid?next=/tai-khoan"))
        assert "/_sim/oidc/authorize" in page.url
        query = dict(parse_qsl(urlsplit(page.url).query))
        assert query["code_challenge_method"] == "S256" and query["nonce"] and query["state"]
        async with page.expect_response("**/dang-nhap/vneid/callback**") as refused:
            await page.click(f"button:has-text('{KNOWN_CCCD}')")
        assert (await refused.value).status == 400
        assert "chưa liên kết với VNeID" in await page.content()
        assert await _session_cookie(context) is None
        # Its owner signs in with the password, then links VNeID from the account page.
        await page.goto(live.url("/dang-nhap"))
        await page.fill("input[name=username]", KNOWN_CCCD)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button:has-text('Đăng nhập')")
        await page.goto(live.url("/tai-khoan"))
        await page.click("a:has-text('liên kết với VNeID')")
        await page.click(f"button:has-text('{KNOWN_CCCD}')")
        await page.wait_for_url(re.compile(r"/tai-khoan$"))
        assert "Đã xác thực" in await page.content()
        await context.close()
        # From now on VNeID alone enters that same account, not a duplicate.
        context = await live.browser.new_context(locale="vi-VN")
        page = await context.new_page()
        page.set_default_timeout(15_000)
        await page.goto(live.url("/dang-nhap/vneid?next=/tai-khoan"))
        await page.click(f"button:has-text('{KNOWN_CCCD}')")
        await page.wait_for_url(re.compile(r"/tai-khoan$"))
        assert await _session_cookie(context)
        assert "Nguyễn Văn An" in await page.content()
        await context.close()

        # 2. A first sign-in with no account creates one from the verified claims.
        context = await live.browser.new_context(locale="vi-VN")
        page = await context.new_page()
        page.set_default_timeout(15_000)
        await page.goto(live.url("/dang-nhap/vneid"))
        await page.click(f"button:has-text('{NEW_CCCD}')")
        await page.wait_for_url(re.compile(r"/tai-khoan\?moi=1$"))
        assert await _session_cookie(context)
        assert "Trần Thị Bích Ngọc" in await page.content()
        await context.close()
        with live.db.session() as session:
            accounts = session.exec(select(CitizenAccount)).all()
        by_id = {a.id_number: a for a in accounts}
        assert len([a for a in accounts if a.id_number == KNOWN_CCCD]) == 1
        created = by_id[NEW_CCCD]
        assert (created.full_name, created.date_of_birth, created.phone) == (
            "Trần Thị Bích Ngọc",
            date(1990, 8, 21),
            "0987654321",
        )

        # 3. A tampered state on the way back is refused, and no session is opened.
        context = await live.browser.new_context(locale="vi-VN")
        page = await context.new_page()
        page.set_default_timeout(15_000)

        async def forge_state(route: Any) -> None:
            # The provider's redirect back, with another state in its Location.
            if route.request.method != "POST":
                await route.continue_()
                return
            answer = await route.fetch(max_redirects=0)
            location = _with_param(answer.headers["location"], "state", "forged-state")
            await route.fulfill(status=303, headers={"location": location})

        await page.route("**/_sim/oidc/authorize", forge_state)
        await page.goto(live.url("/dang-nhap/vneid"))
        async with page.expect_response("**/dang-nhap/vneid/callback**") as refused:
            await page.click(f"button:has-text('{KNOWN_CCCD}')")
        assert (await refused.value).status == 400
        assert "state" in await page.content()
        assert await _session_cookie(context) is None
        await context.close()

        # 4. A nonce changed on the way to the provider: the ID token's nonce does not
        #    match the one the portal keeps, so the token is refused.
        context = await live.browser.new_context(locale="vi-VN")
        page = await context.new_page()
        page.set_default_timeout(15_000)
        await page.goto(live.url("/dang-nhap/vneid"))
        await page.goto(_with_param(page.url, "nonce", "forged-nonce"))
        async with page.expect_response("**/dang-nhap/vneid/callback**") as refused:
            await page.click(f"button:has-text('{KNOWN_CCCD}')")
        assert (await refused.value).status == 400
        assert "Không xác thực được thông tin từ VNeID" in await page.content()
        assert await _session_cookie(context) is None
        await context.close()

        # 5. The password account keeps working.
        async with httpx.AsyncClient(base_url=live.base_url) as http:
            response = await http.post(
                "/api/v1/auth/token", data={"username": KNOWN_CCCD, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            # A created account has no usable password.
            response = await http.post(
                "/api/v1/auth/token", data={"username": NEW_CCCD, "password": "!vneid"}
            )
            assert response.status_code == 401
