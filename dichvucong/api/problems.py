"""Errors as RFC 9457 problem+json, mapped once for the whole API."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.service import RPCError

PROBLEM_MEDIA_TYPE = "application/problem+json"


# What a field's validation error says, by pydantic's error type (its own texts are
# English); our validators' texts (PydanticCustomError, ValueError) are Vietnamese
# already and are kept.
FIELD_ERRORS: dict[str, str] = {
    "missing": "Thiếu thông tin bắt buộc.",
    "too_long": "Quá nhiều (tối đa {max_length}).",
    "too_short": "Quá ít (tối thiểu {min_length}).",
    "string_too_short": "Quá ngắn (tối thiểu {min_length} ký tự).",
    "string_too_long": "Quá dài (tối đa {max_length} ký tự).",
    "string_type": "Phải là một chuỗi ký tự.",
    "string_pattern_mismatch": "Không đúng định dạng.",
    "int_type": "Phải là một số nguyên.",
    "int_parsing": "Phải là một số nguyên.",
    "int_from_float": "Phải là một số nguyên.",
    "float_type": "Phải là một số.",
    "float_parsing": "Phải là một số.",
    "bool_type": "Phải là true hoặc false.",
    "bool_parsing": "Phải là true hoặc false.",
    "list_type": "Phải là một danh sách.",
    "dict_type": "Phải là một đối tượng.",
    "model_type": "Phải là một đối tượng.",
    "greater_than": "Phải lớn hơn {gt}.",
    "greater_than_equal": "Phải lớn hơn hoặc bằng {ge}.",
    "less_than": "Phải nhỏ hơn {lt}.",
    "less_than_equal": "Phải nhỏ hơn hoặc bằng {le}.",
    "literal_error": "Giá trị không nằm trong các giá trị cho phép ({expected}).",
    "enum": "Giá trị không nằm trong các giá trị cho phép ({expected}).",
    "date_parsing": "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
    "date_from_datetime_parsing": "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
    "datetime_parsing": "Ngày giờ không hợp lệ (ISO 8601).",
    "datetime_from_date_parsing": "Ngày giờ không hợp lệ (ISO 8601).",
    "json_invalid": "Nội dung không phải JSON hợp lệ.",
    "extra_forbidden": "Không có trường này.",
}
FIELD_ERROR = "Giá trị không hợp lệ."


def field_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic's errors as ``{"loc", "msg"}`` with the message in Vietnamese."""
    out = []
    for error in errors:
        own = str(error.get("msg", "")).removeprefix("Value error, ")
        template = FIELD_ERRORS.get(error.get("type", ""))
        if not own.isascii():  # a validator of ours: already in Vietnamese
            msg = own
        elif template is None:
            msg = FIELD_ERROR
        else:
            try:
                msg = template.format(**(error.get("ctx") or {}))
            except (KeyError, IndexError, ValueError):
                msg = FIELD_ERROR
        out.append({"loc": list(error.get("loc", ())), "msg": msg})
    return out


class DomainError(Exception):
    """A business failure with a machine code and a sentence for people."""

    status: int = 400

    def __init__(self, code: str, detail: str, *, status: int | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        if status is not None:
            self.status = status
        self.extra = extra


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Forbidden(DomainError):
    status = 403


def problem(status: int, title: str, detail: str, code: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"about:blank#{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


_TITLES = {
    400: "Yêu cầu không hợp lệ",
    401: "Chưa đăng nhập",
    403: "Không có quyền",
    404: "Không tìm thấy",
    409: "Xung đột trạng thái",
    405: "Thao tác không được hỗ trợ",
    413: "Dữ liệu quá lớn",
    422: "Dữ liệu không hợp lệ",
    429: "Quá nhiều yêu cầu",
    500: "Có lỗi xảy ra",
    503: "Dịch vụ tạm thời gián đoạn",
}


def title_for(status: int) -> str:
    """The title of a problem body with ``status``: the same for the whole API."""
    return _TITLES.get(status, "Lỗi")


# Said in place of the framework's own English ("Missing boundary in multipart.",
# "Method Not Allowed"...), which our code never raises: its sentences are Vietnamese.
_FRAMEWORK_DETAILS = {
    400: "Yêu cầu không hợp lệ (nội dung gửi lên không đọc được).",
    401: "Vui lòng đăng nhập để tiếp tục.",
    403: "Bạn không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy trang hoặc tài nguyên yêu cầu.",
    405: "Địa chỉ này không hỗ trợ thao tác được yêu cầu.",
    413: "Dữ liệu gửi lên quá lớn.",
}

# A fault of ours no handler expected: the person can only wait, so say that.
_FAILURE_DETAILS = {
    500: "Hệ thống gặp sự cố khi xử lý yêu cầu. Vui lòng thử lại sau.",
    503: "Hệ thống tạm thời không phục vụ được. Vui lòng thử lại sau ít phút.",
}

# Where a signed-out browser is sent to sign in, by the part of the site it asked for;
# a navigation to a /api/ download comes from the citizen's pages.
_OFFICIAL_PATHS = ("/can-bo", "/giam-sat")
_OFFICIAL_LOGIN = "/can-bo/dang-nhap"
_CITIZEN_LOGIN = "/dang-nhap"
_JSON_TYPES = ("application/json", "application/problem+json")

log = logging.getLogger("dichvucong.api")


def wants_page(request: Request) -> bool:
    """Pages get a Vietnamese HTML error; the API (and machines) get problem+json.
    Under /api/ only a browser opening a link of our pages (a receipt PDF, a result,
    a document) gets the page: a client asking for JSON keeps its problem body."""
    accept = request.headers.get("accept", "")
    if request.url.path.startswith("/api/"):
        return _is_navigation(request, accept)
    if request.url.path.startswith(("/codec/", "/_sim/")):
        return False
    return "text/html" in accept


def _is_navigation(request: Request, accept: str) -> bool:
    if request.method not in ("GET", "HEAD") or "text/html" not in accept:
        return False
    if request.headers.get("sec-fetch-mode") == "navigate":
        return True
    return _quality(accept, "text/html") > max(_quality(accept, t) for t in _JSON_TYPES)


def _quality(accept: str, media_type: str) -> float:
    """The q-value ``accept`` gives ``media_type``: its most specific range wins."""
    group = media_type.split("/")[0] + "/*"
    best, quality = -1, 0.0
    for part in accept.split(","):
        kind, *params = (piece.strip() for piece in part.split(";"))
        rank = {media_type: 2, group: 1, "*/*": 0}.get(kind.lower(), -1)
        if rank > best:
            best, quality = rank, _q(params)
    return quality


def _q(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _home(request: Request) -> str:
    return "/can-bo" if request.url.path.startswith(_OFFICIAL_PATHS) else "/"


def _page(request: Request, status: int, detail: str) -> Response:
    from dichvucong.web.templating import render

    title = _TITLES.get(status, "Có lỗi xảy ra")
    context = {"title": title, "detail": detail, "home": _home(request)}
    return render(request, "error.html", context, status_code=status)


def _signed_out(request: Request, status: int) -> bool:
    """A browser opening a page, signed out: it is sent to sign in, then back here."""
    return status == 401 and request.method in ("GET", "HEAD") and wants_page(request)


def _to_login(request: Request) -> Response:
    from dichvucong.api.routes.forms import login_redirect

    official = request.url.path.startswith(_OFFICIAL_PATHS)
    return login_redirect(request, _OFFICIAL_LOGIN if official else _CITIZEN_LOGIN)


def _failure_status(exc: Exception) -> int:
    """503 for what usually passes (the database unreachable, locked or its pool
    exhausted; Temporal unreachable): worth trying again; 500 for the rest."""
    if isinstance(exc, (OperationalError, PoolTimeout, RPCError)):
        return 503
    return 500


def _failure_page(request: Request, status: int) -> Response:
    """Rendered without asking the database who is signed in: it may be what failed."""
    from dichvucong.web.csrf import csrf_token
    from dichvucong.web.templating import templates

    values = {
        "principal": request.scope.get("state", {}).get("principal"),
        "csrf_token": csrf_token(request),
        "settings": request.app.state.settings,
        "title": _TITLES[status],
        "detail": _FAILURE_DETAILS[status],
        "home": _home(request),
    }
    return templates.TemplateResponse(request, "error.html", values, status_code=status)


def failure_response(request: Request, exc: Exception) -> Response:
    """The answer to an exception no handler expected: never the framework's English."""
    status = _failure_status(exc)
    if wants_page(request):
        try:
            return _failure_page(request, status)
        except Exception:  # the page itself failed: the sentence alone, still Vietnamese
            log.exception("error_page_failed path=%s", request.url.path)
            return Response(_FAILURE_DETAILS[status], status, media_type="text/plain")
    code = "service_unavailable" if status == 503 else "internal_error"
    return problem(status, _TITLES[status], _FAILURE_DETAILS[status], code)


class UnexpectedErrorMiddleware:
    """Answers an exception that escaped every handler, inside the security headers.

    FastAPI hands ``exception_handler(Exception)`` to Starlette's ServerErrorMiddleware,
    outside every user middleware: its answer would go without our headers. This one
    logs the traceback itself and answers; ServerErrorMiddleware (with the same answer)
    stays for what fails outside it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:  # too late for another answer: the server logs it and cuts off
                raise
            request = Request(scope, receive)
            log.exception("unexpected_error method=%s path=%s", request.method, request.url.path)
            await failure_response(request, exc)(scope, receive, send)


def install_unexpected_errors(app: FastAPI) -> None:
    """Call right after ``install_security_headers``: inside them, outside the rest."""
    if not any(m.cls is UnexpectedErrorMiddleware for m in app.user_middleware):
        app.user_middleware.append(Middleware(UnexpectedErrorMiddleware))


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if _signed_out(request, exc.status):
            return _to_login(request)
        if wants_page(request):
            return _page(request, exc.status, exc.detail)
        title = _TITLES.get(exc.status, "Lỗi")
        return problem(exc.status, title, exc.detail, exc.code, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if wants_page(request):
            return _page(request, 422, "Dữ liệu gửi lên không hợp lệ.")
        errors = field_errors(exc.errors())
        return problem(
            422, _TITLES[422], "Dữ liệu gửi lên không hợp lệ.", "validation_error", errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else ""
        if detail.isascii():
            detail = _FRAMEWORK_DETAILS.get(exc.status_code, "Có lỗi xảy ra khi xử lý yêu cầu.")
        if _signed_out(request, exc.status_code):
            return _to_login(request)
        if wants_page(request):
            return _page(request, exc.status_code, detail)
        title = _TITLES.get(exc.status_code, "Lỗi")
        response = problem(exc.status_code, title, detail, f"http_{exc.status_code}")
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        # A value the database cannot hold that no validator caught: PostgreSQL refuses
        # NUL characters in text, numbers beyond 64 bits... The transaction rolled back.
        log.warning(
            "database_refused_value path=%s error=%s", request.url.path, type(exc.orig).__name__
        )
        return await _domain(
            request,
            DomainError(
                "invalid_value", "Dữ liệu gửi lên có ký tự hoặc giá trị không hợp lệ.", status=422
            ),
        )

    @app.exception_handler(RPCError)
    async def _temporal(request: Request, exc: RPCError) -> Response:
        # Routes map the answers they expect (not found, refused); what reaches here is
        # Temporal unavailable or overloaded: the request did nothing, it can be sent again.
        log.error("temporal_rpc_failed path=%s status=%s", request.url.path, exc.status)
        return await _domain(request, temporal_unavailable())

    # What fails outside UnexpectedErrorMiddleware (in the outer middlewares): the
    # server still gets the exception afterwards and logs its traceback.
    app.add_exception_handler(Exception, failure_response)


def temporal_unavailable() -> DomainError:
    return DomainError(
        "temporal_unavailable",
        "Hệ thống xử lý hồ sơ đang bận; vui lòng thử lại sau ít phút.",
        status=503,
    )
