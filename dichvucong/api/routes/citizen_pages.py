"""The citizen's pages: home, catalog, account, submission, my dossiers, lookup,
my documents. Server-rendered Vietnamese HTML that works without JavaScript.

Every POST form carries the CSRF field; every handler checks it first. The
business rules live where the JSON API finds them (accounts, SubmissionService,
views, decisions): these handlers only translate forms to those calls and their
errors back to messages next to the fields.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from dichvucong.accounts.citizens import (
    CitizenCreate,
    CitizenProfileUpdate,
    FieldErrors,
    authenticate,
    change_password,
    register_citizen,
    update_profile,
)
from dichvucong.accounts.principal import Principal
from dichvucong.api.deps import get_temporal
from dichvucong.api.problems import Conflict, DomainError, Forbidden, NotFound
from dichvucong.api.routes.dossiers import RESULT_NOT_READY, refuse_withheld, submission_service
from dichvucong.api.routing import OneTripRoute
from dichvucong.catalog.models import ADMIN_LEVELS, SERVICE_LEVELS, Procedure
from dichvucong.db.models import CitizenAccount, CitizenDocument, Dossier
from dichvucong.dossiers import decisions
from dichvucong.dossiers.decisions import supplement_taken
from dichvucong.dossiers.rating import record_rating
from dichvucong.dossiers.submission import (
    SubmissionInvalid,
    SubmissionRequest,
    SubmissionService,
    row_id,
)
from dichvucong.dossiers.views import (
    DossierRow,
    citizen_documents,
    detail,
    lookup,
    result_released,
    summary,
    visible_dossier,
    withheld_documents,
)
from dichvucong.forms import compute_fee, validate_form
from dichvucong.official_forms.blank import render_blank_form
from dichvucong.official_forms.context import slip_available
from dichvucong.web.csrf import check_csrf
from dichvucong.web.sessions import end_session, page_principal, start_session
from dichvucong.web.templating import render
from dichvucong.workflows.messages import DocumentRef, SupplementInput, WithdrawInput

log = logging.getLogger("dichvucong.citizen_pages")

router = APIRouter(include_in_schema=False, route_class=OneTripRoute)

ADMIN_LEVEL_LABELS = {"province": "Cấp tỉnh", "district": "Cấp huyện", "commune": "Cấp xã"}
SERVICE_LEVEL_LABELS = {
    "2": "Cung cấp thông tin, biểu mẫu",
    "partial": "Dịch vụ công trực tuyến một phần",
    "full": "Dịch vụ công trực tuyến toàn trình",
}
DELIVERY_LABELS = {
    "online": "Nhận kết quả trực tuyến (tải về trên Cổng)",
    "postal": "Nhận kết quả qua dịch vụ bưu chính công ích",
    "counter": "Nhận kết quả trực tiếp tại Bộ phận Một cửa",
}
RATING_LABELS = {
    "very_satisfied": "Rất hài lòng",
    "satisfied": "Hài lòng",
    "unsatisfied": "Không hài lòng",
}
DUE_REASONS = {
    "received": "Hẹn trả khi tiếp nhận hồ sơ",
    "supplement_restart": "Tính lại thời hạn sau khi bổ sung hồ sơ",
    "apology": "Cơ quan xin lỗi và hẹn lại ngày trả kết quả",
}
FLASHES = {
    "bo-sung": "Đã gửi hồ sơ bổ sung. Cơ quan sẽ tiếp tục xử lý.",
    "rut": "Đã rút hồ sơ.",
    "danh-gia": "Cảm ơn bạn đã đánh giá mức độ hài lòng.",
    "thanh-toan": "Đã ghi nhận giao dịch thanh toán; trạng thái sẽ được cập nhật khi "
    "ngân hàng xác nhận.",
}
SUPPLEMENT_MESSAGES = {
    "slot_unknown": "Mục giấy tờ không có trong thủ tục.",
    "empty": "Vui lòng đính kèm ít nhất một giấy tờ bổ sung.",
}
MAX_PARTS = 60
# On a blank form of a procedure several agencies carry out (the citizen writes theirs).
BLANK_FORM_AGENCY = "……………………………………"

# ------------------------------------------------------------------------ helpers


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _raw(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def safe_next(value: str | None, default: str = "/ho-so") -> str:
    """Only a relative path of this site: never another host (open redirect)."""
    if not value:
        return default
    parts = urlsplit(value)
    if (
        parts.scheme
        or parts.netloc
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or "\\" in value
        or any(ord(ch) < 32 for ch in value)
    ):
        return default
    return value


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return _see_other("/dang-nhap?next=" + quote(target, safe="/"))


def _citizen(request: Request) -> Principal | None:
    """The signed-in citizen; None when nobody is signed in; 403 for officials."""
    principal = page_principal(request)
    if principal is None:
        return None
    if not principal.is_citizen:
        raise Forbidden("citizen_only", "Chức năng dành cho công dân.")
    return principal


def _require_citizen(request: Request) -> Principal:
    principal = _citizen(request)
    if principal is None:
        raise DomainError("unauthenticated", "Vui lòng đăng nhập để tiếp tục.", status=401)
    return principal


def _visible(request: Request, code: str, principal: Principal) -> DossierRow:
    with request.app.state.db.session() as session:
        return visible_dossier(session, code, principal)


def _citizen_and_dossier(
    request: Request, form: FormData, code: str
) -> tuple[Principal, DossierRow]:
    """A citizen's POST on their dossier, in one trip to the thread pool: who is
    asking, the form's CSRF token, and the dossier they may see."""
    principal = _require_citizen(request)
    check_csrf(request, _raw(form, "csrf_token"))
    return principal, _visible(request, code, principal)


def _checked_visible(request: Request, form: FormData, code: str) -> DossierRow:
    return _citizen_and_dossier(request, form, code)[1]


async def _read_form(request: Request, *, files: bool = False) -> FormData:
    """The body's size is bounded as it arrives (dichvucong.web.body_limit); a form
    that takes no documents refuses file parts before Starlette spools one to disk."""
    return await request.form(max_files=MAX_PARTS if files else 0, max_fields=MAX_PARTS * 4)


def _files(form: FormData, prefix: str) -> dict[str, list[UploadFile]]:
    """File parts named ``<prefix><slot>``; the empty part a browser sends for an
    input left blank is ignored."""
    found: dict[str, list[UploadFile]] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile) and key.startswith(prefix):
            if not value.filename and not value.size:
                continue
            found.setdefault(key[len(prefix) :], []).append(value)
    return found


def _reuse_ids(form: FormData, prefix: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for key, value in form.multi_items():
        if key.startswith(prefix) and isinstance(value, str) and value.strip():
            doc_id = row_id(value)
            if doc_id is None:
                raise SubmissionInvalid({f"documents.{key[len(prefix) :]}": "Mã giấy tờ sai."})
            found.setdefault(key[len(prefix) :], []).append(doc_id)
    return found


def _my_documents(request: Request, citizen_id: int) -> list[CitizenDocument]:
    """Uploads, and results once released (a result waiting for its fee is not listed)."""
    with request.app.state.db.session() as session:
        return citizen_documents(session, citizen_id)


def _procedure(request: Request, code: str) -> Procedure:
    procedure = request.app.state.catalog.procedures.get(code)
    if procedure is None:
        raise NotFound("procedure_not_found", "Không tìm thấy thủ tục hành chính.")
    return procedure


def _fmt_percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} %".replace(".", ",")


NO_FIGURES = {"received": "—", "resolved": "—", "on_time": "—", "satisfaction": "—",
              "unavailable": True}  # fmt: skip


def home_figures(db: Any) -> dict[str, Any]:
    """The public figures of the home page, from the read model. When they cannot be
    worked out, none: other counts under the same headings would mean something else
    (all years, any rating, dossiers never received)."""
    try:
        from dichvucong.stats import province_rates

        rates = dict(province_rates(db))
    except Exception:  # noqa: BLE001 - the home page must render even if stats fail
        log.exception("province_rates_failed")
        return dict(NO_FIGURES)
    resolved = int(rates.get("resolved") or 0)
    return {
        "received": int(rates.get("received") or 0),
        "resolved": resolved,
        "on_time": _fmt_percent(rates.get("on_time") if resolved else None),
        "satisfaction": _fmt_percent(rates.get("satisfaction") if resolved else None),
        "unavailable": False,
    }


# ------------------------------------------------------------------------ public


@router.get("/")
def home(request: Request) -> Response:
    catalog = request.app.state.catalog
    online = [p for p in catalog.procedures.values() if p.accepts_online]
    return render(
        request,
        "citizen/home.html",
        {"figures": home_figures(request.app.state.db), "popular": online[:6]},
    )


@router.get("/thu-tuc")
def catalog_page(
    request: Request,
    q: str = "",
    cap: str = "",
    linh_vuc: str = "",
    nhom: str = "",
    muc_do: str = "",
) -> Response:
    catalog = request.app.state.catalog
    found = catalog.search(
        q=q.strip()[:200] or None,
        admin_level=cap if cap in ADMIN_LEVELS else None,
        sector=linh_vuc or None,
        field=nhom or None,
        service_level=muc_do if muc_do in SERVICE_LEVELS else None,
    )
    return render(
        request,
        "citizen/catalog.html",
        {
            "procedures": found,
            "q": q,
            "cap": cap,
            "linh_vuc": linh_vuc,
            "nhom": nhom,
            "muc_do": muc_do,
            "sectors": catalog.sectors(),
            "fields": catalog.fields(),
            "admin_levels": ADMIN_LEVEL_LABELS,
            "service_levels": SERVICE_LEVEL_LABELS,
        },
    )


@router.get("/thu-tuc/{code}")
def procedure_page(request: Request, code: str) -> Response:
    procedure = _procedure(request, code)
    catalog = request.app.state.catalog
    return render(
        request,
        "citizen/procedure.html",
        {
            "p": procedure,
            "agencies": catalog.agencies_of(procedure),
            "admin_levels": ADMIN_LEVEL_LABELS,
            "service_levels": SERVICE_LEVEL_LABELS,
            "delivery_labels": DELIVERY_LABELS,
        },
    )


@router.get("/thu-tuc/{code}/bieu-mau/{number}.pdf")
def blank_form(request: Request, code: str, number: int) -> Response:
    """Form ``number`` (from 1) of the procedure's downloadable forms, printable."""
    procedure = _procedure(request, code)
    if not 1 <= number <= len(procedure.downloadable_forms):
        raise NotFound("form_not_found", "Không tìm thấy biểu mẫu.")
    agencies = request.app.state.catalog.agencies_of(procedure)
    agency_name = agencies[0].name if len(agencies) == 1 else BLANK_FORM_AGENCY
    pdf = render_blank_form(procedure, procedure.downloadable_forms[number - 1], agency_name)
    name = f"{procedure.code}-bieu-mau-{number}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "public, max-age=86400",
        },
    )


@router.get("/tra-cuu")
def lookup_page(request: Request, q: str = "") -> Response:
    q = q.strip()[:300]
    results = None
    if q:
        with request.app.state.db.session() as session:
            results = lookup(session, request.app.state.catalog, q)
    return render(request, "citizen/lookup.html", {"q": q, "results": results})


# ------------------------------------------------------------------------ account

REGISTER_FIELDS = (
    "full_name", "id_number", "date_of_birth", "phone", "address", "email", "passport_number"
)


@router.get("/dang-ky")
def register_form(request: Request) -> Response:
    return render(request, "citizen/register.html", {"values": {}, "errors": {}})


@router.post("/dang-ky")
async def register_submit(request: Request) -> Response:
    form = await _read_form(request)
    # The password hash (argon2id, ~0.1 s of CPU) and the database in the thread pool:
    # never on the event loop, where they would hold every other request.
    return await run_in_threadpool(_register, request, form)


def _register(request: Request, form: FormData) -> Response:
    check_csrf(request, _raw(form, "csrf_token"))
    values = {key: _text(form, key) for key in REGISTER_FIELDS}
    born: date | None
    try:
        born = date.fromisoformat(values["date_of_birth"]) if values["date_of_birth"] else None
    except ValueError:
        born = None
    data = CitizenCreate(
        full_name=values["full_name"][:120],
        id_number=values["id_number"][:20],
        date_of_birth=born,
        phone=values["phone"][:20],
        email=values["email"][:254] or None,
        address=values["address"][:300],
        password=_raw(form, "password")[:128],
        passport_number=values["passport_number"][:20] or None,
    )
    with request.app.state.db.session() as session:
        try:
            account = register_citizen(session=session, data=data)
        except FieldErrors as exc:
            return render(
                request,
                "citizen/register.html",
                {"values": values, "errors": exc.errors},
                status_code=422,
            )
        principal = authenticate(
            session=session, username=account.id_number, password=data.password
        )
    response = _see_other("/tai-khoan?moi=1")
    if principal is not None:
        start_session(response, principal, request.app.state.settings)
    return response


@router.get("/dang-nhap")
def login_form(request: Request, next: str = "") -> Response:  # noqa: A002
    return render(
        request,
        "citizen/login.html",
        {"next": safe_next(next, ""), "username": "", "error": None},
    )


@router.post("/dang-nhap")
async def login_submit(request: Request) -> Response:
    form = await _read_form(request)
    return await run_in_threadpool(_login, request, form)  # the password check: argon2id


def _login(request: Request, form: FormData) -> Response:
    check_csrf(request, _raw(form, "csrf_token"))
    username = _text(form, "username")[:254]
    target = safe_next(_text(form, "next"), "")
    with request.app.state.db.session() as session:
        principal = authenticate(
            session=session, username=username, password=_raw(form, "password")[:128]
        )
    if principal is None:
        return render(
            request,
            "citizen/login.html",
            {
                "next": target,
                "username": username,
                "error": "Tên đăng nhập hoặc mật khẩu không đúng.",
            },
            status_code=401,
        )
    response = _see_other(target or ("/can-bo" if principal.is_official else "/ho-so"))
    start_session(response, principal, request.app.state.settings)
    return response


@router.post("/dang-xuat")
async def logout(request: Request) -> Response:
    form = await _read_form(request)
    check_csrf(request, _raw(form, "csrf_token"))
    response = _see_other("/")
    end_session(response, request.app.state.settings)
    return response


def _account_page(
    request: Request,
    account: CitizenAccount,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    pw_errors: dict[str, str] | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> Response:
    shown = values or {
        "full_name": account.full_name,
        "phone": account.phone,
        "email": account.email or "",
        "address": account.address,
        "passport_number": account.passport_number or "",
    }
    return render(
        request,
        "citizen/account.html",
        {
            "account": account,
            "values": shown,
            "errors": errors or {},
            "pw_errors": pw_errors or {},
            "flash": flash,
        },
        status_code=status_code,
    )


@router.get("/tai-khoan")
def account_page(request: Request, moi: str = "", da: str = "") -> Response:
    principal = _citizen(request)
    if principal is None:
        return _login_redirect(request)
    with request.app.state.db.session() as session:
        account = session.get(CitizenAccount, principal.id)
    if account is None:
        raise NotFound("account_not_found", "Không tìm thấy tài khoản.")
    flash = None
    if moi:
        flash = "Đăng ký thành công. Bạn đã được đăng nhập."
    elif da == "ho-so":
        flash = "Đã cập nhật thông tin cá nhân."
    elif da == "mat-khau":
        flash = "Đã đổi mật khẩu."
    return _account_page(request, account, flash=flash)


@router.post("/tai-khoan")
async def account_update(request: Request) -> Response:
    form = await _read_form(request)
    return await run_in_threadpool(_update_account, request, form)


def _update_account(request: Request, form: FormData) -> Response:
    principal = _require_citizen(request)
    check_csrf(request, _raw(form, "csrf_token"))
    values = {
        k: _text(form, k) for k in ("full_name", "phone", "email", "address", "passport_number")
    }
    with request.app.state.db.session() as session:
        account = session.get(CitizenAccount, principal.id)
        assert account is not None
        try:
            update_profile(
                session=session,
                account=account,
                data=CitizenProfileUpdate(
                    full_name=values["full_name"][:120],
                    phone=values["phone"][:20],
                    email=values["email"][:254] or None,
                    address=values["address"][:300],
                    passport_number=values["passport_number"][:20],
                ),
            )
        except FieldErrors as exc:
            session.rollback()
            session.refresh(account)
            return _account_page(
                request, account, values=values, errors=exc.errors, status_code=422
            )
    return _see_other("/tai-khoan?da=ho-so")


@router.post("/tai-khoan/mat-khau")
async def password_update(request: Request) -> Response:
    form = await _read_form(request)
    return await run_in_threadpool(_update_password, request, form)  # argon2id twice


def _update_password(request: Request, form: FormData) -> Response:
    principal = _require_citizen(request)
    check_csrf(request, _raw(form, "csrf_token"))
    new = _raw(form, "new_password")[:128]
    errors: dict[str, str] = {}
    if new != _raw(form, "new_password_again")[:128]:
        errors["new_password_again"] = "Mật khẩu nhập lại không khớp."
    with request.app.state.db.session() as session:
        account = session.get(CitizenAccount, principal.id)
        assert account is not None
        if not errors:
            try:
                change_password(
                    session=session,
                    account=account,
                    current=_raw(form, "current_password")[:128],
                    new=new,
                )
            except FieldErrors as exc:
                errors = exc.errors
        if errors:
            return _account_page(request, account, pw_errors=errors, status_code=422)
    return _see_other("/tai-khoan?da=mat-khau")


# ------------------------------------------------------------------------ submission


def _submit_context(
    request: Request,
    procedure: Procedure,
    principal: Principal,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    idempotency_key: str,
    fee: Any = None,
) -> dict[str, Any]:
    catalog = request.app.state.catalog
    docs = _my_documents(request, principal.id)
    reusable = {
        slot.key: [d for d in docs if d.media_type in slot.accepted_types]
        for slot in procedure.documents
    }
    agencies = catalog.agencies_of(procedure)
    return {
        "p": procedure,
        "agencies": agencies,
        "admin_levels": ADMIN_LEVEL_LABELS,
        "delivery_labels": DELIVERY_LABELS,
        "values": values,
        "errors": errors,
        "reusable": reusable,
        "idempotency_key": idempotency_key,
        "fee": fee,
        # The browser never fills a file input again: whenever files were chosen (an
        # error or the fee worked out), they are gone and must be attached again.
        "had_files": bool(values.get("_had_files")),
        "fee_check": bool(values.get("_fee_check")),
    }


def _prefill(request: Request, procedure: Procedure, principal: Principal) -> dict[str, Any]:
    """Fills the e-form's identity fields from the account (the citizen can change them)."""
    with request.app.state.db.session() as session:
        account = session.get(CitizenAccount, principal.id)
    values: dict[str, Any] = {"form": {}, "delivery": procedure.delivery_options[0]}
    if len(procedure.agencies) == 1:
        values["agency_code"] = procedure.agencies[0]
    if account is None:
        return values
    # Only the applicant's own fields (by key): "so_dinh_danh_me" is someone else.
    known = {
        "ho_ten": account.full_name,
        "ngay_sinh": account.date_of_birth.isoformat(),
        "so_dinh_danh": account.id_number,
        "noi_thuong_tru": account.address,
        "so_dien_thoai": account.phone,
        "email": account.email or "",
    }
    for f in procedure.form_fields:
        if f.key in known:
            values["form"][f.key] = known[f.key]
    values["delivery_address"] = account.address
    return values


def _online_procedure(request: Request, code: str) -> Procedure:
    procedure = _procedure(request, code)
    if not procedure.accepts_online:
        raise DomainError(
            "procedure_offline",
            "Thủ tục này chỉ cung cấp biểu mẫu để tải về, chưa nộp hồ sơ trực tuyến.",
            status=409,
        )
    return procedure


@router.get("/nop-ho-so/{procedure_code}")
def submit_form(request: Request, procedure_code: str) -> Response:
    procedure = _online_procedure(request, procedure_code)
    principal = _citizen(request)
    if principal is None:
        return _login_redirect(request)
    context = _submit_context(
        request,
        procedure,
        principal,
        values=_prefill(request, procedure, principal),
        errors={},
        idempotency_key=str(uuid.uuid4()),
    )
    return render(request, "citizen/submit.html", context)


@router.post("/nop-ho-so/{procedure_code}")
async def submit_post(request: Request, procedure_code: str) -> Response:
    procedure = _online_procedure(request, procedure_code)
    principal = await run_in_threadpool(_require_citizen, request)  # before the uploads
    form = await _read_form(request, files=True)
    try:
        check_csrf(request, _raw(form, "csrf_token"))
        key = _text(form, "idempotency_key")[:100] or str(uuid.uuid4())
        field_values: dict[str, Any] = {}
        for f in procedure.form_fields:
            raw = form.get(f"f.{f.key}")
            if isinstance(raw, str) and (f.type != "checkbox" or raw):
                field_values[f.key] = raw
        values: dict[str, Any] = {
            "agency_code": _text(form, "agency_code"),
            "delivery": _text(form, "delivery"),
            "delivery_address": _text(form, "delivery_address"),
            "form": field_values,
        }
        uploads = _files(form, "tep.")
        values["_had_files"] = bool(uploads)
        cleaned, form_errors = validate_form(procedure, field_values)
        fee_fields = set(procedure.fee.form_fields_read())
        fee_errors = {f"form.{k}": m for k, m in form_errors.items() if k in fee_fields}
        # A refused field would be replaced by its default: a fee quoted from it is wrong.
        fee = None if fee_errors else compute_fee(procedure, cleaned)
        try:
            reuse = _reuse_ids(form, "dung_lai.")
            values["reuse"] = {k: [str(i) for i in v] for k, v in reuse.items()}
            if _text(form, "hanh_dong") == "tinh_phi":
                values["_fee_check"] = True
                raise SubmissionInvalid(fee_errors)  # the fee only: what it reads is checked
            await run_in_threadpool(refuse_withheld, request.app.state.db, principal.id, reuse)
            submission = SubmissionRequest(
                procedure_code=procedure.code,
                agency_code=values["agency_code"],
                delivery=values["delivery"],
                delivery_address=values["delivery_address"] or None,
                form=field_values,
                uploads=uploads,  # type: ignore[arg-type]
                reuse=reuse,
                idempotency_key=key,
            )
            temporal = await get_temporal(request)
            dossier = await submission_service(request, temporal).submit(
                citizen_id=principal.id, request=submission
            )
        except SubmissionInvalid as exc:
            return await run_in_threadpool(
                _submit_again, request, procedure, principal, values, exc.errors, key, fee
            )
    finally:
        await form.close()
    return _see_other(f"/ho-so/{quote(dossier.code)}?moi=1")


def _submit_again(
    request: Request,
    procedure: Procedure,
    principal: Principal,
    values: dict[str, Any],
    errors: dict[str, str],
    key: str,
    fee: Any,
) -> Response:
    """The form again, with what was wrong (or the fee worked out): reads "my documents"."""
    context = _submit_context(
        request, procedure, principal, values=values, errors=errors, idempotency_key=key, fee=fee
    )
    return render(request, "citizen/submit.html", context, status_code=422 if errors else 200)


# ------------------------------------------------------------------------ my dossiers


@router.get("/ho-so")
def my_dossiers(request: Request) -> Response:
    principal = _citizen(request)
    if principal is None:
        return _login_redirect(request)
    catalog = request.app.state.catalog
    with request.app.state.db.session() as session:
        rows = session.exec(
            select(Dossier)
            .where(Dossier.applicant_id == principal.id)
            .order_by(Dossier.submitted_at.desc())  # type: ignore[union-attr]
            .limit(200)
        ).all()
        items = [summary(d, catalog) for d in rows]
    return render(request, "citizen/dossiers.html", {"items": items})


@router.get("/ho-so/{code}")
def dossier_page(
    request: Request,
    code: str,
    moi: str = "",
    da: str = "",
    thanh_toan: Annotated[str, Query(alias="thanh-toan", max_length=10)] = "",
) -> Response:
    """``?thanh-toan=1``: back from the payment gateway (its return address), before
    its callback has necessarily reached us."""
    principal = _citizen(request)
    if principal is None:
        return _login_redirect(request)
    context = _dossier_context(request, principal, code, thanh_toan=bool(thanh_toan))
    context["new"] = bool(moi)
    context["flash"] = FLASHES.get(da) or (FLASHES["thanh-toan"] if thanh_toan else None)
    return render(request, "citizen/dossier.html", context)


def _dossier_context(
    request: Request, principal: Principal, code: str, *, thanh_toan: bool = False
) -> dict[str, Any]:
    """What the dossier page shows, without a failed supplement's errors (blocking)."""
    catalog = request.app.state.catalog
    with request.app.state.db.session() as session:
        dossier = visible_dossier(session, code, principal)
        view = detail(session, dossier, catalog, principal)
        has_result = any(d.kind == "result" for d in view.documents)
    procedure = catalog.procedures.get(view.procedure_code)
    slots = {s.key: s.name for s in procedure.documents} if procedure else {}
    reusable = _my_documents(request, principal.id) if view.status == "SUPPLEMENT_REQUESTED" else []
    payment_due = view.status == "AWAITING_PAYMENT" and view.payment_status != "paid"
    # Just paid: the bank's confirmation may still be on its way; a second button
    # would invite a second payment.
    confirming = payment_due and thanh_toan
    return {
        "d": view,
        "p": procedure,
        "slots": slots,
        "new": False,
        "flash": None,
        "due_reasons": DUE_REASONS,
        "delivery_labels": DELIVERY_LABELS,
        "rating_labels": RATING_LABELS,
        "can_download": has_result and result_released(view.status),
        "can_print_slip": slip_available(view.status, view.received_at),
        "can_withdraw": view.status in ("SUBMITTED", "SUPPLEMENT_REQUESTED")
        and "withdraw" in view.allowed_actions,
        "can_pay": payment_due and not confirming,
        "confirming_payment": confirming,
        "can_rate": view.status == "COMPLETED" and view.rating is None,
        "reusable": reusable,
        # One per page shown: a double-click sends the same decision once.
        "idempotency_key": str(uuid.uuid4()),
        "errors": {},
        "refusal": None,
        "supplement": {"note": "", "reuse": {}, "had_files": False},
    }


@router.post("/ho-so/{code}/bo-sung")
async def supplement_post(request: Request, code: str) -> Response:
    principal = await run_in_threadpool(_require_citizen, request)  # before the uploads
    form = await _read_form(request, files=True)
    try:
        check_csrf(request, _raw(form, "csrf_token"))
        dossier = await run_in_threadpool(_visible, request, code, principal)
        note = _text(form, "note")[:2000]
        key = _raw(form, "idempotency_key")[:100] or None
        try:
            await _supplement(request, principal, dossier, form, note, key)
        except (SubmissionInvalid, Conflict) as exc:
            # The dossier page again, the errors next to the fields, the note kept.
            return await run_in_threadpool(
                _supplement_again, request, principal, dossier.code, form, exc, note, key
            )
    finally:
        await form.close()
    return _see_other(f"/ho-so/{quote(dossier.code)}?da=bo-sung")


async def _supplement(
    request: Request,
    principal: Principal,
    dossier: DossierRow,
    form: FormData,
    note: str,
    key: str | None,
) -> None:
    if dossier.status != "SUPPLEMENT_REQUESTED":
        if key and await supplement_taken(await get_temporal(request), dossier.code, principal, key):
            return  # the same form again (back button, double click): it went through
        raise Conflict("not_waiting_for_supplement", "Hồ sơ không ở trạng thái chờ bổ sung.")
    temporal = await get_temporal(request)
    service = submission_service(request, temporal)
    procedure = service.catalog.procedures[dossier.procedure_code]

    async def send(refs: list[DocumentRef]) -> dict[str, Any]:
        supplement = SupplementInput(documents=refs, form_changes={}, note=note)
        return await decisions.send_supplement(
            client=temporal, dossier=dossier, principal=principal,
            supplement=supplement, idempotency_key=key,
        )  # fmt: skip

    await _send_supplement(service, procedure, principal, form, send)


def _supplement_again(
    request: Request,
    principal: Principal,
    code: str,
    form: FormData,
    exc: SubmissionInvalid | Conflict,
    note: str,
    key: str | None,
) -> Response:
    """The dossier page after a failed supplement: 422 with the errors by field, or
    409 with the workflow's refusal. A refused key is spent (the same update id would
    get the same refusal); one that never reached the workflow is kept."""
    context = _dossier_context(request, principal, code)
    refused = isinstance(exc, Conflict)
    if isinstance(exc, SubmissionInvalid):
        context["errors"] = exc.errors or {"documents": exc.detail}
        context["idempotency_key"] = key or context["idempotency_key"]
    else:
        context["refusal"] = exc.detail
    reuse = {
        k[len("dung_lai.") :]: v
        for k, v in form.multi_items()
        if k.startswith("dung_lai.") and isinstance(v, str)
    }
    context["supplement"] = {
        "note": note,
        "reuse": reuse,
        "had_files": bool(_files(form, "tep.")),
    }
    return render(request, "citizen/dossier.html", context, status_code=409 if refused else 422)


async def _send_supplement(
    service: SubmissionService,
    procedure: Procedure,
    principal: Principal,
    form: FormData,
    send: Callable[[list[DocumentRef]], Awaitable[dict[str, Any]]],
) -> None:
    """Checks the chosen documents, then stores the uploads and sends them all; the
    service removes the stored files again if the supplement fails."""
    slots = {slot.key: slot for slot in procedure.documents}
    uploads = _files(form, "tep.")
    reuse = _reuse_ids(form, "dung_lai.")
    unknown = [k for k in (*uploads, *reuse) if k not in slots]
    if unknown:
        raise SubmissionInvalid({"documents": SUPPLEMENT_MESSAGES["slot_unknown"]})
    if not uploads and not reuse:
        raise SubmissionInvalid({"documents": SUPPLEMENT_MESSAGES["empty"]})
    # The saved documents first: a wrong one is refused before any upload is stored.
    await run_in_threadpool(refuse_withheld, service.db, principal.id, reuse)
    reused = (
        await run_in_threadpool(service.reused_documents, principal.id, procedure, reuse)
        if reuse
        else []
    )
    await service.send_supplement(procedure, uploads, send, reused=reused)  # type: ignore[arg-type]


@router.post("/ho-so/{code}/thanh-toan")
async def payment_post(request: Request, code: str) -> Response:
    from dichvucong.integrations.payment_gateway import GatewayError, start_payment

    form = await _read_form(request)
    dossier = await run_in_threadpool(_checked_visible, request, form, code)
    if dossier.status != "AWAITING_PAYMENT":
        raise Conflict("no_payment_due", "Hồ sơ hiện không chờ thanh toán.")
    try:
        state = request.app.state
        url = await start_payment(state.settings, dossier, db=state.db, calendar=state.calendar)
    except GatewayError as exc:
        raise DomainError(
            "gateway_unavailable",
            "Cổng thanh toán tạm thời không phản hồi, vui lòng thử lại sau.",
            status=503,
        ) from exc
    return _see_other(url)


@router.post("/ho-so/{code}/danh-gia")
async def rating_post(request: Request, code: str) -> Response:
    form = await _read_form(request)
    return await run_in_threadpool(_rate, request, form, code)


def _rate(request: Request, form: FormData, code: str) -> Response:
    principal = _require_citizen(request)
    check_csrf(request, _raw(form, "csrf_token"))
    level = _text(form, "level")
    if level not in RATING_LABELS:
        raise DomainError("rating_level", "Vui lòng chọn mức độ hài lòng.", status=422)
    with request.app.state.db.session() as session:
        dossier = visible_dossier(session, code, principal)
        record_rating(session, dossier, level, _text(form, "comment")[:2000] or None)
    return _see_other(f"/ho-so/{quote(code)}?da=danh-gia")


@router.post("/ho-so/{code}/rut")
async def withdraw_post(request: Request, code: str) -> Response:
    form = await _read_form(request)
    principal, dossier = await run_in_threadpool(_citizen_and_dossier, request, form, code)
    temporal = await get_temporal(request)
    await decisions.decide(
        client=temporal,
        dossier=dossier,
        principal=principal,
        action="withdraw",
        payload=WithdrawInput(reason=_text(form, "reason")[:500] or "Công dân rút hồ sơ"),
        idempotency_key=_text(form, "idempotency_key")[:100] or None,
    )
    return _see_other(f"/ho-so/{quote(code)}?da=rut")


# ------------------------------------------------------------------------ my documents


@router.get("/giay-to-cua-toi")
def my_documents_page(request: Request) -> Response:
    principal = _citizen(request)
    if principal is None:
        return _login_redirect(request)
    return render(request, "citizen/documents.html", {"docs": _my_documents(request, principal.id)})


@router.get("/giay-to-cua-toi/{doc_id}")
def my_document_download(
    request: Request, doc_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> Response:
    principal = _citizen(request)
    if principal is None:
        return _login_redirect(request)
    with request.app.state.db.session() as session:
        doc = session.get(CitizenDocument, doc_id)
        withheld = doc is not None and bool(withheld_documents(session, principal.id, [doc_id]))
    store = request.app.state.documents
    if doc is None or doc.owner_id != principal.id or not store.exists(doc.sha256):
        raise NotFound("document_not_found", "Không tìm thấy giấy tờ.")
    if withheld:  # a result whose dossier still waits for the fee charged before it
        raise NotFound("result_not_ready", RESULT_NOT_READY)

    def chunks() -> Any:
        with store.open(doc.sha256) as handle:
            while chunk := handle.read(64 * 1024):
                yield chunk

    ascii_name = doc.name.encode("ascii", "ignore").decode().replace('"', "") or "giay-to"
    return StreamingResponse(
        chunks(),
        media_type=doc.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(doc.name)}",
            "Cache-Control": "private, no-store",
        },
    )
