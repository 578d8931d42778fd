"""Errors as RFC 9457 problem+json, mapped once for the whole API."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

PROBLEM_MEDIA_TYPE = "application/problem+json"


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
}

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


def wants_page(request: Request) -> bool:
    """Pages get a Vietnamese HTML error; the API (and machines) get problem+json."""
    if request.url.path.startswith(("/api/", "/codec/", "/_sim/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _page(request: Request, status: int, detail: str) -> Response:
    from dichvucong.web.templating import render

    title = _TITLES.get(status, "Có lỗi xảy ra")
    return render(request, "error.html", {"title": title, "detail": detail}, status_code=status)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if wants_page(request):
            return _page(request, exc.status, exc.detail)
        title = _TITLES.get(exc.status, "Lỗi")
        return problem(exc.status, title, exc.detail, exc.code, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if wants_page(request):
            return _page(request, 422, "Dữ liệu gửi lên không hợp lệ.")
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return problem(
            422, _TITLES[422], "Dữ liệu gửi lên không hợp lệ.", "validation_error", errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else ""
        if detail.isascii():
            detail = _FRAMEWORK_DETAILS.get(exc.status_code, "Có lỗi xảy ra khi xử lý yêu cầu.")
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
        logging.getLogger("dichvucong.api").warning(
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
        logging.getLogger("dichvucong.api").error(
            "temporal_rpc_failed path=%s status=%s", request.url.path, exc.status
        )
        return await _domain(request, temporal_unavailable())


def temporal_unavailable() -> DomainError:
    return DomainError(
        "temporal_unavailable",
        "Hệ thống xử lý hồ sơ đang bận; vui lòng thử lại sau ít phút.",
        status=503,
    )
