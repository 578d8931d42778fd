"""Pages of the VNeID sign-in: ``GET /dang-nhap/vneid`` (to the provider) and
``GET /dang-nhap/vneid/callback`` (back, then a page session as after a password
sign-in). The logic lives in :mod:`dichvucong.accounts.vneid`."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from dichvucong.accounts.principal import Principal
from dichvucong.accounts.vneid import (
    FLOW_COOKIE,
    FLOW_PATH,
    VneidClient,
    VneidError,
    link_or_create,
    open_flow,
    seal_flow,
)
from dichvucong.api.routing import OneTripRoute
from dichvucong.web.sessions import page_principal, start_session
from dichvucong.web.templating import render

log = logging.getLogger("dichvucong.vneid")

router = APIRouter(include_in_schema=False, route_class=OneTripRoute)


def _client(request: Request) -> VneidClient | None:
    state = request.app.state
    if not hasattr(state, "vneid_client"):
        state.vneid_client = VneidClient.from_settings(state.settings)
    return state.vneid_client


def _safe_next(value: str | None) -> str:
    """Only a path of this site (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return ""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or "\\" in value or any(ord(c) < 32 for c in value):
        return ""
    return value


def _secure(request: Request) -> bool:
    return str(request.app.state.settings.public_base_url).startswith("https://")


def _refused(request: Request, message: str, status_code: int = 400) -> Response:
    response = render(
        request,
        "error.html",
        {"title": "Không đăng nhập được bằng VNeID", "detail": message},
        status_code=status_code,
    )
    response.delete_cookie(
        FLOW_COOKIE, path=FLOW_PATH, httponly=True, samesite="lax", secure=_secure(request)
    )
    return response


@router.get(FLOW_PATH)
async def vneid_start(request: Request, next: str = "") -> Response:  # noqa: A002
    client = _client(request)
    if client is None:
        return _refused(request, "Đăng nhập bằng VNeID chưa được bật trên Cổng.", 404)
    try:
        url, flow = await client.start(_safe_next(next))
    except VneidError as exc:
        log.warning("vneid_start_failed %s", exc)
        return _refused(request, exc.message, 502)
    response = RedirectResponse(url, status_code=302)
    # Lax: sent on the provider's top-level redirect back to the callback.
    response.set_cookie(
        FLOW_COOKIE,
        seal_flow(request.app.state.settings.secret_key, flow),
        max_age=600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path=FLOW_PATH,
    )
    return response


def _link_or_create(request: Request, claims: Any) -> tuple[Principal, bool]:
    with request.app.state.db.session() as session:
        # Signed in with the password already: this sign-in links VNeID to it.
        return link_or_create(session, claims, page_principal(request))


@router.get(f"{FLOW_PATH}/callback")
async def vneid_callback(request: Request) -> Response:
    client = _client(request)
    if client is None:
        return _refused(request, "Đăng nhập bằng VNeID chưa được bật trên Cổng.", 404)
    settings = request.app.state.settings
    try:
        flow = open_flow(settings.secret_key, request.cookies.get(FLOW_COOKIE))
        claims = await client.finish(dict(request.query_params), flow)
        principal, created = await run_in_threadpool(_link_or_create, request, claims)
    except VneidError as exc:
        log.warning("vneid_sign_in_refused %s", exc)
        return _refused(request, exc.message)
    log.info("vneid_sign_in citizen=%s created=%s", principal.id, created)
    target = _safe_next(flow.get("next")) or ("/tai-khoan?moi=1" if created else "/ho-so")
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(
        FLOW_COOKIE, path=FLOW_PATH, httponly=True, samesite="lax", secure=_secure(request)
    )
    start_session(response, principal, settings)
    return response
