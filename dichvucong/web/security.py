"""Security headers on every response, and the CSRF seed cookie."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from dichvucong.web.csrf import set_csrf_cookie

# No inline scripts or styles anywhere: pages load /static files only.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
# Swagger UI at /docs needs its own bundle's inline bootstrap.
DOCS_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
FRAME_SELF = "frame-ancestors 'self'"


def install_security_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def _headers(request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        path = request.url.path
        docs = path.startswith(("/docs", "/redoc", "/_sim", "/_dev"))
        # Documents (PDF/JPEG) are previewed inline in our own case pages.
        frameable = "/documents/" in path or path.endswith((".pdf", "/phieu-hen"))
        policy = DOCS_CSP if docs else CSP
        if frameable:
            policy = policy.replace("frame-ancestors 'none'", FRAME_SELF)
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN" if frameable else "DENY")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.app.state.settings.public_base_url.startswith("https://"):
            response.headers.setdefault("Strict-Transport-Security",
                                        "max-age=31536000; includeSubDomains")
        set_csrf_cookie(request, response)
        return response
