"""Rate limits (per IP and per account, a Vietnamese 429 with Retry-After) and the
sign-in lockout (the same answer for unknown names, recovery by time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlmodel import select

from dichvucong.accounts.officials import create_official
from dichvucong.app import create_app
from dichvucong.db.engine import Database
from dichvucong.security.models import AuditEvent, LoginThrottle
from dichvucong.security.ratelimit import SlidingWindowLimiter, parse_limits
from dichvucong.seed import seed
from dichvucong.settings import Settings

PASSWORD = "mat-khau-2026"
STP = "000.00.12.H19"


@dataclass
class App:
    http: httpx.AsyncClient
    db: Database


@asynccontextmanager
async def app(tmp_path: Path, **overrides: object) -> AsyncIterator[App]:
    settings = Settings(
        var_dir=tmp_path,
        environment="test",
        secret_key="test-secret-0123456789",
        public_base_url="http://portal.test",
        **overrides,  # type: ignore[arg-type]
    )
    seed(settings)
    web = create_app(settings, temporal=object())  # these routes never reach Temporal
    with web.state.db.session() as session:
        create_official(
            session=session,
            username="giamsat",
            password=PASSWORD,
            agency_code=STP,
            roles=["supervisor"],
        )
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http:
        yield App(http, web.state.db)
    web.state.db.dispose()


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    wait = int(response.headers["retry-after"])
    assert 0 < wait <= 3600
    assert response.json()["detail"] == (
        f"Bạn thao tác quá nhiều lần, vui lòng thử lại sau {wait} giây."
    )


def test_sliding_window() -> None:
    now = [100.0]
    limiter = SlidingWindowLimiter(clock=lambda: now[0])
    assert [limiter.hit("k", 2, 10) for _ in range(3)] == [0, 0, 10]
    now[0] += 5
    assert limiter.hit("k", 2, 10) == 5
    now[0] += 5.5  # the first two hits slid out of the window
    assert limiter.hit("k", 2, 10) == 0
    assert limiter.hit("other", 2, 10) == 0
    assert parse_limits("login=30:10/300,lookup=5/60")["lookup"].per_account == 5


async def test_lookup_registration_feedback_and_login_are_rate_limited(tmp_path: Path) -> None:
    limits = "lookup=3:3/60,register=2:2/60,feedback=2:2/60,login=2:100/60"
    async with app(tmp_path, rate_limits=limits) as a:
        for _ in range(3):
            assert (await a.http.get("/api/v1/lookup", params={"q": "x"})).status_code == 200
        assert_limited(await a.http.get("/api/v1/lookup", params={"q": "x"}))
        page = await a.http.get("/tra-cuu", params={"q": "x"}, headers={"Accept": "text/html"})
        assert page.status_code == 429 and "Bạn thao tác quá nhiều lần" in page.text
        assert page.headers["retry-after"] and page.headers["content-security-policy"]
        for _ in range(2):
            assert (await a.http.post("/api/v1/accounts", json={})).status_code == 422
        assert_limited(await a.http.post("/api/v1/accounts", json={}))
        for _ in range(2):
            assert (await a.http.post("/api/v1/feedback", json={})).status_code == 422
        assert_limited(await a.http.post("/api/v1/feedback", json={}))
        # Page sign-in shares the login bucket with the API (counted before anything else).
        for _ in range(2):
            await a.http.post("/dang-nhap", data={"username": "x", "password": "y"})
        assert_limited(
            await a.http.post("/api/v1/auth/token", data={"username": "z", "password": "y"})
        )


async def test_lookup_page_follows_the_configured_limit_only(tmp_path: Path) -> None:
    # The page once kept its own fixed 30-a-minute window beside the configured one: with
    # the limits off it still answered 429, without Retry-After and in other words.
    async with app(tmp_path, rate_limit_enabled=False) as a:
        for _ in range(35):
            page = await a.http.get("/tra-cuu", params={"q": "x"}, headers={"Accept": "text/html"})
            assert page.status_code == 200
    async with app(tmp_path / "on", rate_limits="lookup=40:40/60") as a:
        for _ in range(40):
            page = await a.http.get("/tra-cuu", params={"q": "x"}, headers={"Accept": "text/html"})
            assert page.status_code == 200
        limited = await a.http.get("/tra-cuu", params={"q": "x"})
        assert_limited(limited)


async def test_login_is_limited_per_account(tmp_path: Path) -> None:
    async with app(tmp_path, rate_limits="login=100:2/60", login_max_failures=50) as a:
        for _ in range(2):
            wrong = await a.http.post(
                "/api/v1/auth/token", data={"username": "giamsat", "password": "sai"}
            )
            assert wrong.status_code == 401
        assert_limited(
            await a.http.post(
                "/api/v1/auth/token", data={"username": " GiamSat ", "password": "sai"}
            )
        )
        other = await a.http.post(
            "/api/v1/auth/token", data={"username": "someone", "password": "sai"}
        )
        assert other.status_code == 401  # another account: its own budget


async def test_lockout_same_answer_for_unknown_accounts_and_recovery(tmp_path: Path) -> None:
    async with app(tmp_path, login_max_failures=3, login_lockout_minutes=15) as a:

        async def login(username: str, password: str) -> httpx.Response:
            return await a.http.post(
                "/api/v1/auth/token", data={"username": username, "password": password}
            )

        answers = {}
        for name in ("giamsat", "khong-ton-tai"):
            for _ in range(3):
                assert (await login(name, "sai-mat-khau")).status_code == 401
            locked = await login(name, PASSWORD)  # even the right password waits
            assert locked.status_code == 429
            assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
            answers[name] = (locked.json()["code"], locked.json()["detail"])
        assert answers["giamsat"] == answers["khong-ton-tai"]
        assert answers["giamsat"] == (
            "login_locked",
            "Tài khoản tạm thời bị khóa do đăng nhập sai nhiều lần. Vui lòng thử lại sau 15 phút.",
        )
        # Time passes: the lock lifts by itself, and a success clears the counter.
        with a.db.session() as session:
            for row in session.exec(select(LoginThrottle)).all():
                row.locked_until = datetime.now(UTC) - timedelta(seconds=1)
                session.add(row)
            session.commit()
        assert (await login("giamsat", PASSWORD)).status_code == 200
        with a.db.session() as session:
            rows = session.exec(select(LoginThrottle)).all()
            events = session.exec(select(AuditEvent)).all()
        assert len(rows) == 1  # only the unknown name's counter remains
        failed = [e for e in events if e.action == "login_failed"]
        assert len(failed) == 6 and all(e.actor.startswith("login:") for e in failed)
        assert all("giamsat" not in f"{e.actor}{e.detail}" for e in failed)
        assert [e.actor for e in events if e.action == "login"] == ["official:1"]


async def test_a_deactivated_official_loses_access_at_once(tmp_path: Path) -> None:
    """Tokens are checked against the account on every request, not only at sign-in."""
    from dichvucong.db.models import OfficialAccount

    async with app(tmp_path) as a:
        token = await a.http.post(
            "/api/v1/auth/token", data={"username": "giamsat", "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        me = await a.http.get("/api/v1/me", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["kind"] == "official" and me.json()["roles"] == ["supervisor"]
        assert me.json()["agency_code"] == STP
        with a.db.session() as session:
            official = session.exec(
                select(OfficialAccount).where(OfficialAccount.username == "giamsat")
            ).one()
            official.active = False
            session.add(official)
            session.commit()
        gone = await a.http.get("/api/v1/me", headers=headers)
        assert gone.status_code == 401
        assert gone.json()["detail"] == "Vui lòng đăng nhập."
