"""Officials' pages under /can-bo: sign-in, the inbox, the case and its decisions,
the agency's feedback (phản ánh, kiến nghị) and its notices.

Reads the read model only; decisions go through the same path as the JSON API
(dichvucong.dossiers.decisions: rights 403 here, the workflow's refusal shown on
the page in Vietnamese, a hidden idempotency key so a re-sent form acts once).
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from dichvucong.accounts.citizens import FIELD_MESSAGES, OFFICIAL_NAME_MAX, authenticate
from dichvucong.accounts.principal import Principal
from dichvucong.api.deps import get_temporal
from dichvucong.api.problems import DomainError, Forbidden, NotFound
from dichvucong.api.routes.dossiers import _keep_results, _read_form, submission_service
from dichvucong.api.routes.forms import login_redirect
from dichvucong.api.routes.supervision import (
    FeedbackAnswer,
    answer_through_workflow,
    feedback_scope,
)
from dichvucong.api.routing import OneTripRoute
from dichvucong.db.models import Dossier
from dichvucong.dossiers import decisions
from dichvucong.dossiers.inbox import open_work
from dichvucong.dossiers.notices import agency_notices
from dichvucong.dossiers.views import (
    DossierRow,
    WorkItem,
    actions_for,
    detail,
    visible_dossier,
)
from dichvucong.feedback.inbox import agency_feedback, feedback_state, visible_feedback
from dichvucong.feedback.models import KIND_LABELS
from dichvucong.feedback.texts import PAGE_MESSAGES, STATE_LABELS
from dichvucong.official_forms import TITLES, build_context, load_sources
from dichvucong.official_forms.context import official_name, slip_available, step_name
from dichvucong.security.audit import audit_decision, audit_official_read
from dichvucong.web.csrf import check_csrf
from dichvucong.web.sessions import end_session, page_principal, start_session
from dichvucong.web.templating import render
from dichvucong.workflows import texts
from dichvucong.workflows.messages import STEP_ISSUE, Actor, CaseStatus, DocumentRef

router = APIRouter(include_in_schema=False, route_class=OneTripRoute)

HOME = "/can-bo"
LOGIN = "/can-bo/dang-nhap"
# The order the action forms appear in on the case page.
ACTION_ORDER = (
    "accept",
    "approve",
    "issue_result",
    "record_counter_payment",
    "hand_over",
    "request_supplement",
    "send_back",
    "apologize",
    "redispatch",
    "refuse",
    "reject",
)
STATUS_ORDER = (
    "SUBMITTED",
    "PROCESSING",
    "AWAITING_PAYMENT",
    "RESULT_READY",
    "DISPATCHED",
    "SUPPLEMENT_REQUESTED",
)


def _safe_next(value: Any) -> str:
    """Only a path on this site (no //host, no scheme) is a valid place to go back to."""
    if (
        isinstance(value, str)
        and value.startswith((HOME, "/giam-sat"))  # the officials' pages and supervision
        and not value.startswith("//")
        and "\\" not in value
    ):
        return value
    return HOME


def _official(request: Request) -> Principal | None:
    """The signed-in official, None when nobody is signed in; 403 for a citizen."""
    principal = page_principal(request)
    if principal is not None and not principal.is_official:
        raise Forbidden("official_only", "Trang này dành cho cán bộ, công chức.")
    return principal


# -------------------------------------------------------------------- sign in/out


@router.get(LOGIN, response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    principal = page_principal(request)
    if principal is not None and principal.is_official:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "official/login.html", {"next": _safe_next(next), "username": ""})


@router.post(LOGIN, response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    # The password check (argon2id, ~0.1 s of CPU) off the event loop.
    return await run_in_threadpool(_login, request, form)


def _login(request: Request, form: FormData) -> Response:
    check_csrf(request, _text(form, "csrf_token"))
    # The name exactly as the sign-in guard keyed its lockout: refused when too long,
    # never cut (a cut name would sign in under a fresh lockout counter).
    username, password = _text(form, "username"), _text(form, "password")[:128]
    if len(username) > OFFICIAL_NAME_MAX:
        message = FIELD_MESSAGES["login_name_too_long"].format(n=OFFICIAL_NAME_MAX)
        return _login_refused(request, form, username[:OFFICIAL_NAME_MAX], message, 422)
    with request.app.state.db.session() as session:
        principal = authenticate(session=session, username=username, password=password)
    if principal is None or not principal.is_official:
        # One answer for an unknown name, a wrong password or a citizen's account.
        message = "Tên đăng nhập hoặc mật khẩu không đúng."
        return _login_refused(request, form, username, message, 401)
    response = RedirectResponse(_safe_next(_text(form, "next")), status_code=303)
    start_session(response, principal, request.app.state.settings)
    return response


def _login_refused(
    request: Request, form: FormData, username: str, error: str, status_code: int
) -> Response:
    return render(
        request,
        "official/login.html",
        {"next": _safe_next(_text(form, "next")), "username": username, "error": error},
        status_code=status_code,
    )


@router.post("/can-bo/dang-xuat")
async def logout(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(request, _text(form, "csrf_token"))
    response = RedirectResponse(LOGIN, status_code=303)
    end_session(response, request.app.state.settings)
    return response


# -------------------------------------------------------------------------- inbox


# Where the statutory clock runs. Elsewhere it stopped (a result issued on time, a
# supplement awaited...): due_at is then the past deadline it met, and only the
# workflow's own overdue flag, which the JSON inbox filters on, says it was missed.
CLOCK_RUNNING = frozenset({CaseStatus.PROCESSING})


def urgency(dossier: Dossier | WorkItem, now: datetime, soon: datetime) -> str:
    """ "overdue" (red), "soon" (amber: due within one working day) or ""."""
    if dossier.overdue:
        return "overdue"
    reception_due = getattr(dossier, "reception_due_at", None)
    if dossier.status == CaseStatus.SUBMITTED and reception_due is not None:
        # Waiting for reception: its own limit (received or refused within it).
        return "overdue" if reception_due <= now else "soon" if reception_due <= soon else ""
    if dossier.due_at is None or dossier.status not in CLOCK_RUNNING:
        return ""
    # The flag is set by the workflow's timer: the due moment itself is checked too, so
    # a case turns red on time even before that timer's transition reaches the read model.
    if dossier.due_at <= now:
        return "overdue"
    return "soon" if dossier.due_at <= soon else ""


@router.get(HOME, response_class=HTMLResponse)
def inbox_page(
    request: Request,
    status: str | None = None,
    procedure: str | None = None,
    overdue: str | None = None,
) -> Response:
    principal = _official(request)
    if principal is None:
        return login_redirect(request, LOGIN)
    state = request.app.state
    catalog = state.catalog
    only_overdue = overdue in ("1", "true", "on")
    now = datetime.now(UTC)
    soon = state.calendar.add_working_days(now, 1)
    with state.db.session() as session:
        mine = open_work(session, principal.agency_code, principal.roles, procedure=procedure)
    rows = [(d, urgency(d, now, soon)) for d in mine]
    if only_overdue:
        rows = [(d, u) for d, u in rows if u == "overdue"]
    counts: dict[str, int] = {}
    for d, _ in rows:
        counts[d.status] = counts.get(d.status, 0) + 1
    total = len(rows)
    if status:
        rows = [(d, u) for d, u in rows if d.status == status]
    keep = {
        k: v for k, v in (("procedure", procedure), ("overdue", "1" if only_overdue else None)) if v
    }
    tabs = [{"label": "Tất cả", "count": total, "href": _href(keep), "current": not status}]
    for code in sorted(counts, key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else 99):
        tabs.append(
            {
                "label": texts.status_label(code),
                "count": counts[code],
                "href": _href({**keep, "status": code}),
                "current": status == code,
            }
        )
    procedures = sorted(
        (p for p in catalog.procedures.values() if principal.agency_code in p.agencies),
        key=lambda p: p.name,
    )
    items = [
        {
            "code": d.code,
            "procedure": catalog.procedure_name(d.procedure_code),
            "applicant": d.applicant_name,
            "status": d.status,
            "step": step_name(catalog, d.procedure_code, d.current_step),
            "submitted_at": d.submitted_at,
            "due_at": d.due_at,
            "urgency": u,
        }
        for d, u in rows
    ]
    return render(
        request,
        "official/inbox.html",
        {
            "items": items,
            "tabs": tabs,
            "status": status or "",
            "procedure": procedure or "",
            "only_overdue": only_overdue,
            "procedures": procedures,
            "agency_name": catalog.agency_name(principal.agency_code or ""),
        },
    )


def _href(params: dict[str, str]) -> str:
    return HOME + (f"?{urlencode(params)}" if params else "")


# --------------------------------------------------------------------------- case


def _form_fields(procedure: Any, values: dict[str, Any]) -> list[dict[str, str]]:
    if procedure is None:
        return [{"label": k, "value": str(v)} for k, v in values.items()]
    shown = []
    for f in procedure.form_fields:
        if f.key not in values or values[f.key] in (None, ""):
            continue
        value = values[f.key]
        if f.type == "select":
            value = next((o.label for o in f.options if o.value == value), value)
        elif f.type == "checkbox":
            value = "Có" if value else "Không"
        elif f.type == "date":
            with contextlib.suppress(ValueError):
                value = datetime.fromisoformat(str(value)).strftime("%d/%m/%Y")
        shown.append({"label": f.label, "value": str(value)})
    return shown


def _earlier_steps(procedure: Any, current: str | None) -> list[dict[str, str]]:
    if procedure is None:
        return []
    keys = [s.key for s in procedure.steps]
    end = len(keys) if current == STEP_ISSUE else keys.index(current) if current in keys else 0
    return [{"key": s.key, "name": s.name} for s in procedure.steps[:end]]


def _local_input(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(texts.VN_OFFSET).strftime("%Y-%m-%dT%H:%M")


def case_context(request: Request, principal: Principal, code: str) -> dict[str, Any]:
    state = request.app.state
    catalog, calendar = state.catalog, state.calendar
    with state.db.session() as session:
        dossier = visible_dossier(session, code, principal)
        public = detail(session, dossier, catalog, principal)
        sources = load_sources(session, dossier)
    audit_official_read(request, principal, dossier.code, "case_page")
    procedure = catalog.procedures.get(dossier.procedure_code)
    slip = build_context("05", sources, catalog, public_base_url=state.settings.public_base_url)
    allowed = actions_for(dossier, principal)
    actions = [a for a in ACTION_ORDER if a in allowed]
    slot_names = {s.key: s.name for s in procedure.documents} if procedure else {}
    forms = [("01", slip_available(public.status, public.received_at))]
    forms.append(("02", any(e.action == "request_supplement" for e in public.events)))
    forms.append(("03", any(e.action in ("refuse", "reject") for e in public.events)))
    forms.append(("04", any(h.reason == "apology" for h in public.due_history)))
    forms.append(("05", bool(public.hand_overs)))
    now = datetime.now(UTC)
    suggested_due = (
        calendar.add_working_days(max(dossier.due_at, now), 1) if dossier.due_at else None
    )
    return {
        "dossier": dossier,
        "case": public,
        "fields": _form_fields(procedure, dict(dossier.form_data or {})),
        "slot_names": slot_names,
        "step_label": step_name(catalog, dossier.procedure_code, dossier.current_step),
        "urgency": urgency(dossier, now, calendar.add_working_days(now, 1)),
        "actions": actions,
        "own_agency": dossier.agency_code == principal.agency_code,
        "earlier_steps": _earlier_steps(procedure, dossier.current_step),
        "suggested_due": _local_input(suggested_due),
        "slip": slip,
        "forms": [{"no": no, "title": TITLES[no], "ready": ready} for no, ready in forms],
        "actor_name": lambda actor: official_name(sources, actor),
        "idempotency_key": str(uuid.uuid4()),
        # The case as this page shows it: a decision sent from it applies to this state.
        "seen_seq": dossier.last_seq,
        "action_label": texts.action_label,
        "due_reasons": {
            "received": "Tiếp nhận hồ sơ",
            "supplement_restart": "Nhận đủ hồ sơ bổ sung (tính lại từ đầu)",
            "apology": "Xin lỗi, hẹn lại ngày trả",
        },
    }


@router.get("/can-bo/ho-so/{code}", response_class=HTMLResponse)
def case_page(request: Request, code: str, da: str | None = None) -> Response:
    principal = _official(request)
    if principal is None:
        return login_redirect(request, LOGIN)
    try:
        context = case_context(request, principal, code)
    except NotFound as exc:
        return error_page(request, exc)
    if da in decisions.ACTION_ROLES:
        context["flash"] = f"Đã thực hiện «{texts.action_label(da)}» cho hồ sơ {code}."
    return render(request, "official/case.html", context)


# ---------------------------------------------------------------------- decisions


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _local_moment(value: str) -> str:
    """A datetime-local value ("2027-01-25T09:00") read as Vietnam time."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # the body model refuses it with a 422
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=texts.VN_OFFSET)
    return moment.isoformat()


def body_of(action: str, form: FormData) -> dict[str, Any]:
    """The JSON API's body for ``action`` from the page's form fields."""
    note, reason = _text(form, "note"), _text(form, "reason")
    if action == "refuse":
        return {"reason": reason}
    if action == "request_supplement":
        return {"items": _lines(_text(form, "items")), "note": note}
    if action == "send_back":
        return {"to_step": _text(form, "to_step"), "reason": reason}
    if action == "reject":
        return {"reasons": _lines(_text(form, "reasons"))}
    if action == "apologize":
        return {"new_due": _local_moment(_text(form, "new_due")), "reason": reason}
    if action == "record_counter_payment":
        amount = _text(form, "amount").replace(".", "").replace(",", "").replace(" ", "")
        return {"receipt_no": _text(form, "receipt_no"), "amount": amount or None}
    if action == "redispatch":
        return {"address": _text(form, "address") or None}
    return {"note": note}


async def _result_documents(request: Request, form: FormData, temporal: Any) -> list[DocumentRef]:
    files = [v for k, v in form.multi_items() if k == "result" and isinstance(v, UploadFile)]
    return await submission_service(request, temporal).store_results(files)


def _seen_seq(form: FormData) -> int | None:
    text = _text(form, "seen_seq")
    return int(text) if text.isdigit() and len(text) < 10 else None


@router.post("/can-bo/ho-so/{code}/{action}", response_class=HTMLResponse)
async def act_page(request: Request, code: str, action: str) -> Response:
    principal = await run_in_threadpool(_official, request)
    if principal is None:
        return RedirectResponse(LOGIN, status_code=303)
    if action not in decisions.ACTION_ROLES:
        raise NotFound("unknown_action", f"Không có thao tác «{action}».")
    state = request.app.state
    form = await _read_form(request, state.settings)
    try:
        check_csrf(request, _text(form, "csrf_token"))
        dossier = await run_in_threadpool(_visible, state.db, code, principal)
        if dossier.agency_code != principal.agency_code:
            raise Forbidden("other_agency", "Hồ sơ thuộc cơ quan khác; bạn chỉ được xem.")
        role = decisions.acting_role(dossier, principal, action)
        actor = Actor(
            official_id=f"official:{principal.id}", role=role, seen_seq=_seen_seq(form)
        )
        key = _text(form, "idempotency_key")[:100] or None
        temporal = await get_temporal(request)
        try:
            documents = (
                await _result_documents(request, form, temporal) if action == "issue_result" else []
            )
            payload = decisions.build_input(
                action, body_of(action, form), actor, documents, calendar=state.calendar
            )
            state_after = await decisions.decide(
                client=temporal,
                dossier=dossier,
                principal=principal,
                action=action,
                payload=payload,
                idempotency_key=key,
            )
            await run_in_threadpool(
                _after_decision, request, principal, dossier, action, role, state_after["seq"],
                documents,
            )  # fmt: skip
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            # The workflow's refusal (409) or an incomplete form (422): say why, on the case.
            return await run_in_threadpool(_refused_page, request, principal, code, action, exc)
    except (Forbidden, NotFound) as exc:
        return error_page(request, exc)
    finally:
        await form.close()
    return RedirectResponse(f"/can-bo/ho-so/{code}?da={action}", status_code=303)


def _visible(db: Any, code: str, principal: Principal) -> DossierRow:
    with db.session() as session:
        return visible_dossier(session, code, principal)


def _after_decision(
    request: Request, principal: Principal, dossier: DossierRow, action: str, role: str,
    seq: int, documents: list[DocumentRef],
) -> None:  # fmt: skip
    audit_decision(request, principal, dossier.code, action, role=role, seq=seq)
    if action == "issue_result" and dossier.applicant_id is not None:
        with request.app.state.db.session() as session:
            _keep_results(session, dossier.applicant_id, documents)


def _refused_page(
    request: Request, principal: Principal, code: str, action: str, exc: DomainError
) -> Response:
    context = case_context(request, principal, code)
    context.update(error=_sentence(exc), failed_action=action)
    return render(request, "official/case.html", context, status_code=exc.status)


def error_page(request: Request, exc: DomainError) -> Response:
    """403/404 as a Vietnamese page whatever the Accept header says."""
    title = "Không có quyền" if exc.status == 403 else "Không tìm thấy"
    return render(
        request,
        "error.html",
        {"title": title, "detail": exc.detail, "home": HOME},
        status_code=exc.status,
    )


def _sentence(exc: DomainError) -> str:
    errors = getattr(exc, "errors", None)
    if isinstance(errors, dict) and errors:
        return " ".join(str(v) for v in errors.values())
    if exc.code == "invalid_body":
        return "Thông tin nhập chưa hợp lệ; vui lòng kiểm tra các ô của thao tác và thử lại."
    return exc.detail


# ----------------------------------------------------------------------- feedback

FEEDBACK_HOME = "/can-bo/phan-anh"
ANSWER_MAX = 10000  # FeedbackAnswer.text's bound in the JSON API


@router.get(FEEDBACK_HOME, response_class=HTMLResponse)
def feedback_list_page(request: Request, chua_tra_loi: str | None = None) -> Response:
    principal = _official(request)
    if principal is None:
        return login_redirect(request, LOGIN)
    state = request.app.state
    scope = feedback_scope(principal)
    unanswered_only = chua_tra_loi in ("1", "true", "on")
    now = datetime.now(UTC)
    with state.db.session() as session:
        lines = agency_feedback(
            session, scope, now, state.calendar.add_working_days(now, 1),
            unanswered_only=unanswered_only,
        )  # fmt: skip
    catalog = state.catalog
    return render(
        request,
        "official/feedback_list.html",
        {
            "items": lines,
            "province": scope is None,
            "unanswered_only": unanswered_only,
            "kind_labels": KIND_LABELS,
            "state_labels": STATE_LABELS,
            "agency_name": catalog.agency_name,
            "scope_name": "Toàn tỉnh" if scope is None else catalog.agency_name(scope[0]),
        },
    )


def feedback_context(request: Request, principal: Principal, code: str) -> dict[str, Any]:
    """The item with its contact details: reading them is audited as a case page is."""
    state = request.app.state
    with state.db.session() as session:
        row = visible_feedback(session, code, feedback_scope(principal))
    if row is None:
        raise NotFound("feedback_not_found", PAGE_MESSAGES["not_found"])
    audit_official_read(request, principal, row.code, "feedback_page")
    now = datetime.now(UTC)
    catalog = state.catalog
    return {
        "item": row,
        "item_state": feedback_state(row, now, state.calendar.add_working_days(now, 1)),
        "state_labels": STATE_LABELS,
        "kind_label": KIND_LABELS.get(row.kind, row.kind),
        "agency": catalog.agency_name(row.agency_code),
        "procedure": catalog.procedure_name(row.procedure_code) if row.procedure_code else "",
        "answer_max": ANSWER_MAX,
        "draft": "",
        "publish": False,
    }


@router.get(FEEDBACK_HOME + "/{code}", response_class=HTMLResponse)
def feedback_page(request: Request, code: str, da: str | None = None) -> Response:
    principal = _official(request)
    if principal is None:
        return login_redirect(request, LOGIN)
    try:
        context = feedback_context(request, principal, code)
    except NotFound as exc:
        return error_page(request, exc)
    if da == "tra-loi":
        context["flash"] = PAGE_MESSAGES["answered"].format(code=code)
    return render(request, "official/feedback.html", context)


@router.post(FEEDBACK_HOME + "/{code}/tra-loi", response_class=HTMLResponse)
async def answer_feedback_page(request: Request, code: str) -> Response:
    """The form's answer through the JSON API's path (rights, then the workflow's
    ``answer`` Update); a refusal is shown on the item's page in Vietnamese."""
    principal = await run_in_threadpool(_official, request)
    if principal is None:
        return RedirectResponse(LOGIN, status_code=303)
    form = await request.form(max_files=0, max_fields=10)
    try:
        check_csrf(request, _text(form, "csrf_token"))
    except DomainError as exc:  # a stale form: 403 as a page (rendering reads the session)
        return await run_in_threadpool(error_page, request, exc)
    text, publish = _text(form, "text"), form.get("publish") in ("1", "on")
    if not text:
        problem = DomainError("answer_empty", PAGE_MESSAGES["answer_empty"], status=422)
    elif len(text) > ANSWER_MAX:
        message = PAGE_MESSAGES["answer_too_long"].format(n=ANSWER_MAX)
        problem = DomainError("answer_too_long", message, status=422)
    elif decisions.has_control_characters(text):  # a NUL would block the record on PostgreSQL
        message = PAGE_MESSAGES["control_character"]
        problem = DomainError("control_character", message, status=422)
    else:
        try:
            await answer_through_workflow(
                request.app.state.db, await get_temporal(request), code, principal,
                FeedbackAnswer(text=text, publish=publish),
            )  # fmt: skip
        except DomainError as exc:
            problem = exc
        else:
            return RedirectResponse(f"{FEEDBACK_HOME}/{code}?da=tra-loi", status_code=303)
    return await run_in_threadpool(
        _answer_refused, request, principal, code, problem, text, publish
    )


def _answer_refused(
    request: Request, principal: Principal, code: str, exc: DomainError, text: str,
    publish: bool,
) -> Response:  # fmt: skip
    if exc.status in (403, 404):
        return error_page(request, exc)
    try:
        context = feedback_context(request, principal, code)
    except NotFound as missing:
        return error_page(request, missing)
    context.update(error=exc.detail, draft=text, publish=publish)
    return render(request, "official/feedback.html", context, status_code=exc.status)


# ------------------------------------------------------------------------ notices


@router.get("/can-bo/thong-bao", response_class=HTMLResponse)
def notices_page(request: Request) -> Response:
    principal = _official(request)
    if principal is None:
        return login_redirect(request, LOGIN)
    state = request.app.state
    with state.db.session() as session:
        notices = agency_notices(session, principal)
    return render(
        request,
        "official/notices.html",
        {"notices": notices, "agency_name": state.catalog.agency_name(principal.agency_code or "")},
    )
