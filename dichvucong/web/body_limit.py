"""A size limit on every request body, counted as the bytes arrive.

A ``Content-Length`` check alone lets a chunked request (no such header) through,
and Starlette spools each multipart part to a temporary file before any route
code runs. So the bytes are counted in ``receive`` itself: the upload limit on
the routes that take documents, a small one everywhere else. Over the limit,
``receive`` raises ``BodyTooLarge``; the route's body read fails there and the
problem handlers answer 413 as for any other domain error (problem+json on the
API, a Vietnamese page for browsers).

Installed innermost (inside the rate limits, which buffer a sign-in body of at
most 64 KB themselves), so the exception handlers see the error.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dichvucong.api.problems import DomainError

TOO_LARGE = "Dữ liệu gửi lên vượt quá dung lượng cho phép."
# Forms and JSON without documents: the longest legitimate one (20 refusal reasons
# of 2,000 characters, JSON-escaped) stays well under this.
SMALL_BODY_BYTES = 256 * 1024
# Room for the text fields next to the documents of a dossier.
FIELDS_MARGIN_BYTES = 1024 * 1024

# POST routes that take documents (multipart).
UPLOAD_ROUTES = re.compile(
    r"/api/v1/dossiers"
    r"|/api/v1/dossiers/[^/]+/(supplement|actions/issue_result)"
    r"|/nop-ho-so/[^/]+"
    r"|/ho-so/[^/]+/bo-sung"
    r"|/can-bo/ho-so/[^/]+/issue_result"
)
# The Temporal codec server bounds its own streamed body (16 MB of payloads).
OWN_LIMIT_PREFIXES = ("/codec/",)


class BodyTooLarge(DomainError, StarletteHTTPException):
    """A DomainError (its handler writes the answer) that is also an HTTPException:
    FastAPI turns any other exception raised while it parses a body into a 400."""

    status = 413

    def __init__(self) -> None:
        DomainError.__init__(self, "too_large", TOO_LARGE)
        self.status_code = 413
        self.headers = None


def body_limit(scope: Scope) -> int | None:
    """The most bytes this request's body may hold; None when the route bounds it."""
    path: str = scope["path"]
    if path.startswith(OWN_LIMIT_PREFIXES):
        return None
    if scope["method"] == "POST" and UPLOAD_ROUTES.fullmatch(path.rstrip("/") or "/"):
        return int(scope["app"].state.settings.max_dossier_bytes) + FIELDS_MARGIN_BYTES
    return SMALL_BODY_BYTES


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodyLimitMiddleware:
    """Pure ASGI, like the security headers: no second task per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = body_limit(scope) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, _counting(receive, limit, _declared_length(scope)), send)


def _counting(receive: Receive, limit: int, declared: int | None) -> Receive:
    received = 0

    async def counted() -> Message:
        nonlocal received
        if declared is not None and declared > limit:
            raise BodyTooLarge()  # refused before a byte is read
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge()
        return message

    return counted


def install_body_limits(app: FastAPI) -> None:
    """Innermost user middleware: call after ``install_rate_limits``."""
    if not any(m.cls is BodyLimitMiddleware for m in app.user_middleware):
        app.user_middleware.append(Middleware(BodyLimitMiddleware))
