"""Dependencies declared once, used by every router as Annotated aliases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session
from temporalio.client import Client

from dichvucong.accounts.citizens import principal_for_token
from dichvucong.accounts.principal import Principal
from dichvucong.accounts.tokens import SESSION_COOKIE
from dichvucong.api.problems import DomainError, Forbidden, temporal_unavailable
from dichvucong.calendar import WorkCalendar
from dichvucong.catalog import Catalog
from dichvucong.db.engine import Database
from dichvucong.documents.store import DocumentStore
from dichvucong.settings import Settings
from dichvucong.temporal_client import connect
from dichvucong.web.csrf import check_csrf


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_database(request: Request) -> Database:
    return request.app.state.db


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for a plain ``def`` endpoint of a ``OneTripRoute`` router, which closes it
    in the endpoint's own trip to the thread pool: creating it (no connection yet) and
    closing it again here cost the event loop nothing."""
    with request.app.state.db.session() as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    """``get_session`` for an endpoint that only reads (``Database.read_session``)."""
    with request.app.state.db.read_session() as session:
        yield session


async def get_catalog(request: Request) -> Catalog:
    return request.app.state.catalog


async def get_calendar(request: Request) -> WorkCalendar:
    return request.app.state.calendar


async def get_document_store(request: Request) -> DocumentStore:
    return request.app.state.documents


_client_lock = asyncio.Lock()


async def get_temporal(request: Request) -> Client:
    state = request.app.state
    if getattr(state, "temporal", None) is None:
        async with _client_lock:
            if getattr(state, "temporal", None) is None:
                try:
                    state.temporal = await connect(state.settings)
                except RuntimeError as exc:  # the SDK's "Failed client connect"
                    raise temporal_unavailable() from exc
    return state.temporal


# Dependencies that only read app state are coroutines: FastAPI runs a plain ``def``
# dependency in the thread pool, a hop (and a GIL handoff) per dependency per request.
SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[Session, Depends(get_session)]
ReadSessionDep = Annotated[Session, Depends(get_read_session)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
CalendarDep = Annotated[WorkCalendar, Depends(get_calendar)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
DocumentStoreDep = Annotated[DocumentStore, Depends(get_document_store)]


# --- who is calling ----------------------------------------------------------------

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


# The page's CSRF token (dichvucong.web.csrf), for a script of ours calling the JSON API
# with the session cookie from a page whose origin the browser does not state.
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _principal_from_request(request: Request, token: str | None) -> Principal | None:
    if token:  # a bearer token: no browser sends it by itself, no forgery to fear
        return _principal_for(request, token)
    raw = request.cookies.get(SESSION_COOKIE)
    if raw and request.method not in SAFE_METHODS:
        _check_cookie_request(request)
    return _principal_for(request, raw)


def _principal_for(request: Request, raw: str | None) -> Principal | None:
    return principal_for_token(request.app.state.db, request.app.state.settings.secret_key, raw)


def _check_cookie_request(request: Request) -> None:
    """A browser sends the session cookie with a form posted from another page, of
    another site (SameSite=Lax stops only those) or of a sibling subdomain (it stops
    nothing): a change made with the cookie comes from one of our pages, or carries
    their CSRF token. 403 with a problem body otherwise."""
    if not _same_origin(request):
        check_csrf(request, request.headers.get(CSRF_HEADER))


def _same_origin(request: Request) -> bool:
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:  # the browser's own word, where it gives it
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return False
    public = urlsplit(request.app.state.settings.public_base_url)
    own = {f"{public.scheme}://{public.netloc}"}
    host = request.headers.get("host")
    if host:
        own.add(f"{request.url.scheme}://{host}")
    return origin.rstrip("/") in own


def optional_principal(
    request: Request, token: Annotated[str | None, Depends(_bearer)]
) -> Principal | None:
    return _principal_from_request(request, token)


async def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise DomainError("unauthenticated", "Vui lòng đăng nhập.", status=401)
    return principal


async def current_citizen(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_citizen:
        raise Forbidden("citizen_only", "Chức năng dành cho công dân.")
    return principal


async def current_official(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_official:
        raise Forbidden("official_only", "Chức năng dành cho cán bộ.")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
CurrentCitizen = Annotated[Principal, Depends(current_citizen)]
CurrentOfficial = Annotated[Principal, Depends(current_official)]
