"""Rate limits on sign-in, registration, look-up and feedback, per IP address and
per account, with a clear Vietnamese answer (429 + ``Retry-After``); the sign-in
lockout and the sign-in audit events ride on the same guard.

The limiter is an in-process sliding window (each API replica counts for itself;
the lockout, which matters most, is in the database). ``install_rate_limits``
guards the matching requests of the built app — the JSON API and the pages
alike — so the routers themselves stay unaware of it:

* login: ``POST /api/v1/auth/token``, ``POST /dang-nhap``, ``POST /can-bo/dang-nhap``
* register: ``POST /api/v1/accounts``, ``POST /dang-ky``
* lookup: ``GET /api/v1/lookup``, ``GET /tra-cuu`` (with a query)
* feedback: ``POST /api/v1/feedback``

Limits come from ``settings.rate_limits``: ``bucket=<per IP>:<per account>/<seconds>``.
The account of a sign-in is the name typed, normalised as ``lockout.login_key`` does;
elsewhere it is the signed-in person. A sign-in the guard cannot read (too large, not a
form it can parse, a name longer than any account's) is refused here, never passed
on unguarded: the route must check exactly the name the lockout counted.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dichvucong.accounts.citizens import FIELD_MESSAGES, LOGIN_NAME_MAX
from dichvucong.accounts.officials import official_agency
from dichvucong.accounts.tokens import SESSION_COOKIE, InvalidToken, bearer_token, read_token
from dichvucong.api.problems import problem, wants_page
from dichvucong.security import lockout
from dichvucong.security.audit import record_audit
from dichvucong.security.models import AuditAction

MESSAGE = "Bạn thao tác quá nhiều lần, vui lòng thử lại sau {n} giây."
UNREADABLE_LOGIN = "Yêu cầu đăng nhập không hợp lệ. Vui lòng tải lại trang và thử lại."
MAX_LOGIN_BODY = 64 * 1024
MAX_LOGIN_FIELDS = 20

# (method, path) -> bucket
GUARDED: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/token"): "login",
    ("POST", "/dang-nhap"): "login",
    ("POST", "/can-bo/dang-nhap"): "login",
    ("POST", "/api/v1/accounts"): "register",
    ("POST", "/dang-ky"): "register",
    ("GET", "/api/v1/lookup"): "lookup",
    ("GET", "/tra-cuu"): "lookup",
    ("POST", "/api/v1/feedback"): "feedback",
}


@dataclass(frozen=True)
class Limit:
    per_ip: int
    per_account: int
    seconds: float


def parse_limits(spec: str) -> dict[str, Limit]:
    """``"login=30:10/300,lookup=60:30/60"`` -> {bucket: Limit}."""
    limits: dict[str, Limit] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            bucket, rule = part.split("=", 1)
            counts, seconds = rule.split("/", 1)
            ip_count, _, account_count = counts.partition(":")
            limits[bucket.strip()] = Limit(
                int(ip_count), int(account_count or ip_count), float(seconds)
            )
        except ValueError as exc:
            raise ValueError(f"rate limit {part!r} is not bucket=<ip>:<account>/<seconds>") from exc
    return limits


class SlidingWindowLimiter:
    """At most ``limit`` hits per key in any ``window`` seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self.clock = clock
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window: float) -> int:
        """Record a hit; 0 if allowed, else the seconds to wait (the hit is not counted)."""
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self.max_keys:
                    self._prune(now, window)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return max(1, math.ceil(hits[0] + window - now))
            hits.append(now)
            return 0

    def _prune(self, now: float, window: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - window]:
            del self._hits[key]
        while len(self._hits) >= self.max_keys:  # still full: forget the oldest keys
            del self._hits[next(iter(self._hits))]


def _limiter(app: Any) -> SlidingWindowLimiter:
    limiter = getattr(app.state, "rate_limiter", None)
    if limiter is None:
        limiter = app.state.rate_limiter = SlidingWindowLimiter()
    return limiter


def refusal(request: Request, status: int, detail: str, code: str, retry_after: int) -> Response:
    """A 429 with ``Retry-After``: an HTML page for browsers, problem+json otherwise."""
    headers = {"Retry-After": str(retry_after)}
    if wants_page(request):
        from dichvucong.web.templating import render

        response = render(
            request,
            "error.html",
            {"title": "Quá nhiều yêu cầu", "detail": detail},
            status_code=status,
        )
    else:
        response = problem(status, "Quá nhiều yêu cầu", detail, code, retry_after=retry_after)
    response.headers.update(headers)
    return response


def _signed_in_subject(request: Request) -> str | None:
    raw = bearer_token(request.headers.get("authorization", "")) or request.cookies.get(
        SESSION_COOKIE
    )
    if not raw:
        return None
    try:
        return read_token(request.app.state.settings.secret_key, raw).subject
    except InvalidToken:
        return None


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RateLimitMiddleware:
    """Pure ASGI: guards the requests of ``GUARDED``; everything else passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/") or "/"
        bucket = GUARDED.get((scope["method"], path))
        if bucket is None or (bucket == "lookup" and not scope.get("query_string")):
            await self.app(scope, receive, send)  # the empty search page costs nothing
            return
        request = Request(scope)
        settings = request.app.state.settings
        limit = parse_limits(settings.rate_limits).get(bucket)
        username: str | None = None
        if bucket == "login":
            body, receive = await _buffer(receive)
            try:
                username = await _form_username(scope, body)
            except UnreadableLogin as exc:
                await _unreadable(request, exc)(scope, receive, send)
                return
        if settings.rate_limit_enabled and limit is not None:
            limiter = _limiter(request.app)
            wait = limiter.hit(f"{bucket}|ip|{_client(scope)}", limit.per_ip, limit.seconds)
            account = (
                lockout.login_key(settings.secret_key, username)
                if username
                else _signed_in_subject(request)
            )
            if not wait and account:
                wait = limiter.hit(f"{bucket}|account|{account}", limit.per_account, limit.seconds)
            if wait:
                await refusal(request, 429, MESSAGE.format(n=wait), "rate_limited", wait)(
                    scope, receive, send
                )
                return
        if bucket == "login" and username:
            await self._login(request, scope, receive, send, username)
            return
        await self.app(scope, receive, send)

    async def _login(
        self, request: Request, scope: Scope, receive: Receive, send: Send, username: str
    ) -> None:
        settings = request.app.state.settings
        db = request.app.state.db
        key = lockout.login_key(settings.secret_key, username)
        locked = await run_in_threadpool(lockout.locked_seconds, db, key)
        if locked:
            await self._locked(request, locked)(scope, receive, send)
            return
        seen: dict[str, Any] = {"status": 0, "cookies": [], "body": b""}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                seen["cookies"] = [
                    v.decode("latin-1") for k, v in message.get("headers", []) if k == b"set-cookie"
                ]
            elif message["type"] == "http.response.body" and len(seen["body"]) < 8192:
                seen["body"] += message.get("body", b"")
            await send(message)

        await self.app(scope, receive, watch)
        ip = _client(scope)
        if seen["status"] == 401:
            await run_in_threadpool(
                lockout.register_failure,
                db,
                key,
                max_failures=settings.login_max_failures,
                minutes=settings.login_lockout_minutes,
            )
            agency = await run_in_threadpool(official_agency, db, username=username)
            await run_in_threadpool(
                record_audit,
                db,
                actor=f"login:{key[:16]}",
                action=AuditAction.LOGIN_FAILED,
                detail=_login_detail(scope["path"], agency),
                ip=ip,
            )
        elif 200 <= seen["status"] < 400:
            subject = _subject_from_login(settings.secret_key, seen["cookies"], seen["body"])
            if subject:
                await run_in_threadpool(lockout.register_success, db, key)
                agency = await run_in_threadpool(official_agency, db, subject=subject)
                await run_in_threadpool(
                    record_audit,
                    db,
                    actor=subject,
                    action=AuditAction.LOGIN,
                    detail=_login_detail(scope["path"], agency),
                    ip=ip,
                )

    @staticmethod
    def _locked(request: Request, seconds: int) -> Response:
        minutes = max(1, math.ceil(seconds / 60))
        return refusal(
            request, 429, lockout.LOCKED_MESSAGE.format(minutes=minutes), "login_locked", seconds
        )


def _login_detail(route: str, agency: str | None) -> dict[str, str]:
    """An official's sign-in names the agency: its supervisor's export keeps such events."""
    return {"route": route, "agency": agency} if agency else {"route": route}


def _subject_from_login(secret: str, cookies: list[str], body: bytes) -> str | None:
    """Who signed in: the session cookie a page set, or the API's access token."""
    tokens = [
        c.split(";", 1)[0].split("=", 1)[1]
        for c in cookies
        if c.startswith(f"{SESSION_COOKIE}=") and "=" in c
    ]
    try:
        data = json.loads(body) if body.startswith(b"{") else {}
        if isinstance(data, dict) and isinstance(data.get("access_token"), str):
            tokens.append(data["access_token"])
    except ValueError:
        pass
    for token in tokens:
        try:
            return read_token(secret, token.strip('"')).subject
        except InvalidToken:
            continue
    return None


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """Read a (small) request body and hand back a receive that replays it."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        more = message.get("more_body", False)
        if size > MAX_LOGIN_BODY:
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return body, replay


class UnreadableLogin(Exception):
    """A sign-in request whose name the guard cannot know for sure."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def _unreadable(request: Request, exc: UnreadableLogin) -> Response:
    if wants_page(request):
        from dichvucong.web.templating import render

        return render(
            request,
            "error.html",
            {"title": "Yêu cầu không hợp lệ", "detail": exc.detail},
            status_code=exc.status,
        )
    return problem(exc.status, "Yêu cầu không hợp lệ", exc.detail, exc.code)


async def _form_username(scope: Scope, body: bytes) -> str | None:
    """The sign-in name, stripped as authenticate() strips it; None when none was sent.

    Raises UnreadableLogin rather than answer None for a body the route might still
    read (a larger one, more fields): that sign-in would skip the lockout.
    """
    if len(body) > MAX_LOGIN_BODY:
        raise UnreadableLogin(413, "login_too_large", UNREADABLE_LOGIN)
    sent = False

    async def once() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(scope, once).form(max_files=0, max_fields=MAX_LOGIN_FIELDS)
    except Exception as exc:  # malformed, or more than a sign-in form holds
        raise UnreadableLogin(400, "login_unreadable", UNREADABLE_LOGIN) from exc
    value = form.get("username")
    name = value.strip() if isinstance(value, str) else ""
    if len(name) > LOGIN_NAME_MAX:
        detail = FIELD_MESSAGES["login_name_too_long"].format(n=LOGIN_NAME_MAX)
        raise UnreadableLogin(422, "login_name_too_long", detail)
    return name or None


def install_rate_limits(app: FastAPI) -> None:
    """Add the guard as the innermost user middleware (inside the security headers, so
    a 429 page carries them too)."""
    if not any(m.cls is RateLimitMiddleware for m in app.user_middleware):
        app.user_middleware.append(Middleware(RateLimitMiddleware))
