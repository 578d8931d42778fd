"""Security headers on every response, and the CSRF seed cookie.

Pure ASGI (not ``@app.middleware("http")``): Starlette's ``BaseHTTPMiddleware`` runs
every response through a second task and a memory stream, a cost each request pays.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dichvucong.web.csrf import set_csrf_cookie

# No inline scripts or styles anywhere: pages load /static files only.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI at /docs needs its own bundle's inline bootstrap.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)
FRAME_SELF = "frame-ancestors 'self'"
HSTS = "max-age=31536000; includeSubDomains"


def headers_for(path: str, *, https: bool) -> list[tuple[str, str]]:
    docs = path.startswith(("/docs", "/redoc", "/_sim", "/_dev"))
    # Documents (PDF/JPEG) are previewed inline in our own case pages.
    frameable = "/documents/" in path or path.endswith((".pdf", "/phieu-hen"))
    policy = DOCS_CSP if docs else CSP
    if frameable:
        policy = policy.replace("frame-ancestors 'none'", FRAME_SELF)
    headers = [
        ("Content-Security-Policy", policy),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "SAMEORIGIN" if frameable else "DENY"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if https:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                settings = scope["app"].state.settings
                https = settings.public_base_url.startswith("https://")
                for name, value in headers_for(scope["path"], https=https):
                    if name not in headers:  # a route's own choice wins
                        headers[name] = value
                if scope.get("state", {}).get("csrf_seed"):
                    _add_csrf_cookie(scope, headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add_csrf_cookie(scope: Scope, headers: MutableHeaders) -> None:
    """Hand out the seed cookie if the page minted one."""
    carrier = Response()
    set_csrf_cookie(Request(scope), carrier)
    for name, value in carrier.raw_headers:
        if name == b"set-cookie":
            headers.append("set-cookie", value.decode("latin-1"))


def install_security_headers(app: FastAPI) -> None:
    app.add_middleware(SecurityHeadersMiddleware)
