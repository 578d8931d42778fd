"""The sign-in lockout counts exactly the name that is checked (no padded, cut or
unreadable spelling signs in past it), and officials' sign-ins carry their agency so
that its supervisor's audit export holds them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlmodel import select

from dichvucong.accounts.officials import create_official
from dichvucong.app import create_app
from dichvucong.db.engine import Database
from dichvucong.security.models import AuditEvent
from dichvucong.seed import seed
from dichvucong.settings import Settings

PASSWORD = "mat-khau-2026"
# A supervisor of the province office (STP) sees every event: this one is of a commune.
COMMUNE = "000.21.21.H19"
STP = "000.00.12.H19"
HTML = {"Accept": "text/html"}


@dataclass
class App:
    http: httpx.AsyncClient
    db: Database

    async def page_login(self, username: str, password: str) -> httpx.Response:
        page = await self.http.get("/can-bo/dang-nhap", headers=HTML)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found, page.text
        return await self.http.post(
            "/can-bo/dang-nhap",
            data={"username": username, "password": password, "csrf_token": found.group(1)},
            headers=HTML,
        )

    async def api_login(self, data: dict[str, str]) -> httpx.Response:
        return await self.http.post("/api/v1/auth/token", data=data)


@asynccontextmanager
async def app(tmp_path: Path, **overrides: object) -> AsyncIterator[App]:
    values: dict[str, object] = {"rate_limits": "login=1000:1000/60", "login_max_failures": 3}
    settings = Settings(
        var_dir=tmp_path,
        environment="test",
        secret_key="test-secret-0123456789",
        public_base_url="http://portal.test",
        **{**values, **overrides},  # type: ignore[arg-type]
    )
    seed(settings)
    web = create_app(settings, temporal=object())  # sign-in and export never reach Temporal
    with web.state.db.session() as session:
        for username, agency, role in (
            ("canbo1", COMMUNE, "reception"),
            ("giamsat", COMMUNE, "supervisor"),
            ("canbo-khac", STP, "reception"),
        ):
            create_official(
                session=session,
                username=username,
                password=PASSWORD,
                agency_code=agency,
                roles=[role],
            )
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http:
        yield App(http, web.state.db)
    web.state.db.dispose()


async def lock(a: App, username: str) -> None:
    for _ in range(3):
        assert (await a.api_login({"username": username, "password": "sai"})).status_code == 401
    assert (await a.api_login({"username": username, "password": PASSWORD})).status_code == 429


async def test_a_padded_name_on_the_officials_page_is_refused_not_cut(tmp_path: Path) -> None:
    async with app(tmp_path) as a:
        await lock(a, "canbo1")
        # Cut to 64 characters this used to be "canbo1", under a fresh counter each time.
        for n in range(4):
            padded = await a.page_login("canbo1" + " " * 58 + f"x{n}", PASSWORD)
            assert padded.status_code == 422, padded.text
            assert "Tên đăng nhập không được dài quá 64 ký tự." in padded.text
            assert "dvc_session" not in padded.headers.get("set-cookie", "")
        assert (await a.page_login(" canbo1 ", PASSWORD)).status_code == 429  # still locked
        # A name of 64 characters is checked as typed (and is simply wrong).
        assert (await a.page_login("c" * 64, PASSWORD)).status_code == 401


async def test_no_spelling_of_a_locked_name_reaches_the_password_check(tmp_path: Path) -> None:
    async with app(tmp_path) as a:
        await lock(a, "canbo1")
        right = {"username": "canbo1", "password": PASSWORD}
        # A body larger than the guard reads, or with more fields than a sign-in form:
        # the route would have read them, without the lockout.
        too_large = await a.api_login({**right, "pad": "x" * 70_000})
        assert too_large.status_code == 413
        many = await a.api_login({**right, **{f"f{i}": "1" for i in range(25)}})
        assert many.status_code == 400
        for answer in (too_large, many):
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["detail"].startswith("Yêu cầu đăng nhập không hợp lệ.")
        # Longer than any account's name: refused on every sign-in route.
        for path in ("/api/v1/auth/token", "/dang-nhap", "/can-bo/dang-nhap"):
            long = await a.http.post(path, data={"username": "x" * 255, "password": "sai"})
            assert long.status_code == 422, (path, long.text)
            assert long.json()["code"] == "login_name_too_long"
            assert "254 ký tự" in long.json()["detail"]
        assert (await a.api_login(right)).status_code == 429


async def test_a_phone_spelled_differently_shares_the_account_budget(tmp_path: Path) -> None:
    async with app(tmp_path, rate_limits="login=100:2/60", login_max_failures=50) as a:
        for spelling in ("0912345678", "+84912345678"):
            answer = await a.api_login({"username": spelling, "password": "sai"})
            assert answer.status_code == 401
        third = await a.api_login({"username": "0912.345.678", "password": "sai"})
        assert third.status_code == 429


def exported(csv_text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff"))))


async def test_an_agency_supervisor_exports_its_officials_sign_ins(tmp_path: Path) -> None:
    async with app(tmp_path, login_max_failures=50) as a:
        assert (await a.page_login("canbo1", "sai")).status_code == 401
        assert (await a.page_login("canbo1", PASSWORD)).status_code == 303
        assert (await a.api_login({"username": "canbo-khac", "password": "sai"})).status_code == 401
        assert (await a.api_login({"username": "ai-do", "password": "sai"})).status_code == 401
        token = await a.api_login({"username": "giamsat", "password": PASSWORD})
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        answer = await a.http.get("/api/v1/audit", headers=bearer)
        assert answer.status_code == 200, answer.text
        rows = exported(answer.text)
        signins = [(r["action"], r["actor"]) for r in rows if r["action"].startswith("login")]
        # canbo1 (official:1) failed then signed in, the supervisor (official:2) signed in;
        # the other agency's official and the unknown name are not this agency's.
        assert [action for action, _ in signins] == ["login_failed", "login", "login"]
        assert [actor for action, actor in signins if action == "login"] == [
            "official:1",
            "official:2",
        ]
        with a.db.session() as session:
            events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
        failed = [e.detail for e in events if e.action == "login_failed"]
        assert [d.get("agency") for d in failed] == [COMMUNE, STP, None]
        assert all("canbo" not in str(d) for d in failed)  # the name itself is never kept
