"""Page sessions: the signed token in an HttpOnly, SameSite cookie.

A new session id at every login (no session fixation); logging out clears it.
"""

from __future__ import annotations

import secrets

from fastapi import Request, Response

from dichvucong.accounts.citizens import principal_for_token
from dichvucong.accounts.principal import Principal
from dichvucong.accounts.tokens import SESSION_COOKIE, InvalidToken, issue_token, read_token
from dichvucong.settings import Settings


def _secure(settings: Settings) -> bool:
    return settings.public_base_url.startswith("https://")


def start_session(response: Response, principal: Principal, settings: Settings) -> None:
    ttl = settings.access_token_minutes * 60
    token = issue_token(settings.secret_key, principal.subject, ttl_seconds=ttl,
                        session_id=secrets.token_urlsafe(16))
    response.set_cookie(SESSION_COOKIE, token, max_age=ttl, httponly=True, samesite="lax",
                        secure=_secure(settings), path="/")


def end_session(response: Response, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=_secure(settings))


def session_id(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        return read_token(request.app.state.settings.secret_key, raw).session_id or None
    except InvalidToken:
        return None


def page_principal(request: Request) -> Principal | None:
    """The signed-in person of a page request (cached on the request)."""
    if "principal" in request.scope.get("state", {}):
        return request.scope["state"]["principal"]
    principal = principal_for_token(request.app.state.db, request.app.state.settings.secret_key,
                                    request.cookies.get(SESSION_COOKIE))  # fmt: skip
    request.scope.setdefault("state", {})["principal"] = principal
    return principal
