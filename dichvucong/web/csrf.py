"""CSRF protection for every form.

A random cookie (``dvc_csrf``, set on the first page view) and a hidden field
holding an HMAC of it bound to the session id: a cross-site page can make the
browser send the cookie, but cannot read it to compute the field.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from dichvucong.api.problems import DomainError
from dichvucong.web.sessions import session_id

CSRF_COOKIE = "dvc_csrf"
CSRF_FIELD = "csrf_token"


def _cookie_value(request: Request) -> str:
    value = request.cookies.get(CSRF_COOKIE) or request.scope.get("state", {}).get("csrf_seed")
    if not value:
        value = secrets.token_urlsafe(24)
        request.scope.setdefault("state", {})["csrf_seed"] = value
    return value


def csrf_token(request: Request) -> str:
    seed = _cookie_value(request)
    message = f"{seed}|{session_id(request) or ''}".encode()
    return hmac.new(request.app.state.settings.secret_key.encode(), message,
                    hashlib.sha256).hexdigest()


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Called by the middleware: hand out the seed cookie if the page minted one."""
    seed = request.scope.get("state", {}).get("csrf_seed")
    if seed and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(CSRF_COOKIE, seed, httponly=True, samesite="lax", path="/",
                            secure=request.app.state.settings.public_base_url.startswith("https"))


def check_csrf(request: Request, submitted: str | None) -> None:
    if not request.cookies.get(CSRF_COOKIE) or not submitted or not hmac.compare_digest(
        submitted, csrf_token(request)
    ):
        raise DomainError("csrf", "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. "
                          "Vui lòng tải lại trang và thử lại.", status=403)
