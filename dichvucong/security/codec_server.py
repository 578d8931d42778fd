"""The Temporal codec server protocol, inside the app, for the Temporal Web UI and CLI.

``POST /codec/{namespace}/encode`` and ``/decode`` (and ``/codec/encode``,
``/codec/decode`` with an ``X-Namespace`` header, as the UI calls them) take and
return ``{"payloads": [{"metadata": {key: base64}, "data": base64}]}``.

Only supervisors and administrators may use it: the caller is the signed-in
official of the ``dvc_session`` cookie (the UI sends the browser's cookies when
"include credentials" is on) or of a bearer token of ours. Anonymous callers get
401, other people 403. CORS answers the Temporal UI's origin only. Every decode
of encrypted payloads is written to the audit log.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from starlette.concurrency import run_in_threadpool
from temporalio.api.common.v1 import Payload

from dichvucong.accounts.citizens import principal_for_token
from dichvucong.accounts.principal import Principal
from dichvucong.accounts.tokens import SESSION_COOKIE, bearer_token
from dichvucong.api.problems import DomainError, Forbidden
from dichvucong.api.routing import OneTripRoute
from dichvucong.security.audit import client_ip, record_audit
from dichvucong.security.codec import (
    ENCODING,
    CodecKeyError,
    EncryptionCodec,
    PayloadTampered,
    codec_from_settings,
)
from dichvucong.security.models import AuditAction
from dichvucong.settings import Settings

CODEC_ROLES = ("supervisor", "admin")
MAX_BODY = 16 * 1024 * 1024
ALLOW_HEADERS = "content-type, x-namespace, authorization"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def cors_headers(request: Request) -> dict[str, str]:
    """CORS headers when the request comes from the Temporal UI's origin, else none."""
    origin = request.headers.get("origin")
    allowed = origin_of(request.app.state.settings.temporal_ui_public_url)
    if not origin or origin.rstrip("/").lower() != allowed:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


def codec_caller(request: Request) -> Principal | None:
    """The official behind a bearer token of ours or the session cookie (the UI may
    also send its own access token, which is not ours: the cookie then decides)."""
    secret = request.app.state.settings.secret_key
    for raw in (bearer_token(request.headers.get("authorization", "")),
                request.cookies.get(SESSION_COOKIE)):  # fmt: skip
        principal = principal_for_token(request.app.state.db, secret, raw)
        if principal is not None:
            return principal
    return None


def _authorise(request: Request) -> Principal:
    principal = codec_caller(request)
    if principal is None:
        raise DomainError("unauthenticated", "Vui lòng đăng nhập.", status=401)
    if not (principal.is_official and principal.has_role(*CODEC_ROLES)):
        raise Forbidden(
            "codec_forbidden", "Chỉ cán bộ giám sát hoặc quản trị được giải mã dữ liệu hồ sơ."
        )
    return principal


async def _payloads(request: Request) -> list[Payload]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise DomainError("unsupported_media_type", "Nội dung phải là JSON.", status=415)
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise DomainError("too_large", "Dữ liệu gửi lên vượt quá dung lượng cho phép.", status=413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise DomainError(
                "too_large", "Dữ liệu gửi lên vượt quá dung lượng cho phép.", status=413
            )
    try:
        document = json.loads(body)
        items = document["payloads"]
        if not isinstance(items, list):
            raise TypeError("payloads is not a list")
        return [json_format.ParseDict(item, Payload()) for item in items]
    except (ValueError, KeyError, TypeError, json_format.ParseError) as exc:
        raise DomainError(
            "invalid_payloads", "Nội dung không đúng giao thức codec của Temporal.", status=400
        ) from exc


def _codec(request: Request) -> EncryptionCodec:
    state = request.app.state
    codec = getattr(state, "payload_codec", None)
    if codec is None:
        codec = state.payload_codec = codec_from_settings(state.settings)
    return codec


def _check_namespace(request: Request, namespace: str | None) -> None:
    wanted = request.app.state.settings.temporal_namespace
    given = namespace or request.headers.get("x-namespace") or wanted
    if given != wanted:
        raise DomainError("unknown_namespace", "Không phục vụ namespace này.", status=404)


def _answer(request: Request, payloads: list[Payload]) -> JSONResponse:
    body = {"payloads": [json_format.MessageToDict(p) for p in payloads]}
    return JSONResponse(body, headers={**cors_headers(request), "Cache-Control": "no-store"})


async def _run(request: Request, namespace: str | None, direction: str) -> Response:
    try:
        _check_namespace(request, namespace)
        principal = await run_in_threadpool(_authorise, request)  # a token → account read
        payloads = await _payloads(request)
        codec = _codec(request)
        try:
            if direction == "encode":
                result = await codec.encode(payloads)
            else:
                result = await codec.decode(payloads)
        except (PayloadTampered, CodecKeyError) as exc:
            raise DomainError(
                "codec_error",
                "Không giải mã được dữ liệu (khóa không đúng hoặc dữ liệu bị sửa).",
                status=400,
            ) from exc
        encrypted = sum(1 for p in payloads if p.metadata.get("encoding") == ENCODING)
        if direction == "decode" and encrypted:
            await run_in_threadpool(
                record_audit,
                request.app.state.db,
                actor=principal.subject,
                action=AuditAction.READ_PERSONAL_DATA,
                detail={
                    "what": "temporal_ui_decode",
                    "payloads": encrypted,
                    "agency": principal.agency_code,
                },
                ip=client_ip(request),
            )
        return _answer(request, result)
    except DomainError as exc:
        # The problem+json answer, with CORS headers so the UI can show the reason.
        from dichvucong.api.problems import _TITLES, problem

        response = problem(exc.status, _TITLES.get(exc.status, "Lỗi"), exc.detail, exc.code)
        response.headers.update(cors_headers(request))
        return response


def _preflight(request: Request) -> Response:
    headers = cors_headers(request)
    if not headers:
        return Response(status_code=403)
    headers.update(
        {
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": "600",
        }
    )
    return Response(status_code=204, headers=headers)


def build_router(settings: Settings) -> APIRouter:
    """The codec routes under ``/codec``. Building it checks the keys, so a production
    app without ``DVC_CODEC_KEYS`` refuses to start."""
    codec_from_settings(settings)
    router = APIRouter(prefix="/codec", include_in_schema=False, route_class=OneTripRoute)

    async def encode(request: Request, namespace: str | None = None) -> Response:
        return await _run(request, namespace, "encode")

    async def decode(request: Request, namespace: str | None = None) -> Response:
        return await _run(request, namespace, "decode")

    def preflight(request: Request, namespace: str | None = None) -> Response:
        return _preflight(request)

    endpoints: dict[str, Any] = {"encode": encode, "decode": decode}
    for name, endpoint in endpoints.items():
        for path in (f"/{name}", f"/{{namespace}}/{name}"):
            router.add_api_route(path, endpoint, methods=["POST"], name=f"codec_{name}")
            router.add_api_route(path, preflight, methods=["OPTIONS"])
    return router
