"""Signed bearer tokens (and session cookies, which carry the same token).

HMAC-SHA256 over a compact JSON body with the subject and the expiry; no
server-side state, so several API replicas accept each other's tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

# Pages carry the same token as the API's bearer header, in this HttpOnly cookie.
SESSION_COOKIE = "dvc_session"


class InvalidToken(ValueError):
    pass


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer …`` header value, if it is one."""
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


@dataclass(frozen=True)
class TokenClaims:
    subject: str  # "citizen:<id>" | "official:<id>"
    expires_at: int
    session_id: str = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())


def issue_token(
    secret: str, subject: str, *, ttl_seconds: int, session_id: str = "", now: float | None = None
) -> str:
    expires = int((now or time.time()) + ttl_seconds)
    body = _b64(
        json.dumps(
            {"sub": subject, "exp": expires, "sid": session_id}, separators=(",", ":")
        ).encode()
    )
    return f"{body}.{_mac(secret, body)}"


def read_token(secret: str, token: str, *, now: float | None = None) -> TokenClaims:
    try:
        body, mac = token.split(".", 1)
    except ValueError as exc:
        raise InvalidToken("malformed token") from exc
    if not hmac.compare_digest(mac, _mac(secret, body)):
        raise InvalidToken("bad signature")
    try:
        data = json.loads(_unb64(body))
        claims = TokenClaims(
            subject=str(data["sub"]),
            expires_at=int(data["exp"]),
            session_id=str(data.get("sid", "")),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidToken("malformed token") from exc
    if claims.expires_at < (now or time.time()):
        raise InvalidToken("expired")
    return claims
