"""Supervision JSON API: statistics, reports, and citizens' feedback.

* ``GET /stats`` and ``GET /reports``: role ``supervisor`` (or ``admin``); a
  supervisor sees their agency, the provincial office's supervisors see all.
* ``POST /feedback``: anyone (contact details required without an account).
* ``GET /feedback/public``: the published Q&A, no personal data.
* ``POST /feedback/{code}/answer``: an official of the agency concerned.
"""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AfterValidator, BaseModel, Field, model_validator
from sqlmodel import col, delete, select
from starlette.concurrency import run_in_threadpool
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from dichvucong.accounts.principal import Principal
from dichvucong.api.deps import (
    CalendarDep,
    CatalogDep,
    CurrentOfficial,
    DatabaseDep,
    OptionalPrincipal,
    SessionDep,
    SettingsDep,
    TemporalDep,
)
from dichvucong.api.problems import Conflict, DomainError, Forbidden, NotFound
from dichvucong.api.routing import OneTripRoute
from dichvucong.calendar.work_calendar import VN_TZ
from dichvucong.catalog import Catalog
from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier
from dichvucong.feedback.messages import FeedbackAnswerInput, FeedbackInput, FeedbackState
from dichvucong.feedback.models import Feedback, FeedbackKind
from dichvucong.feedback.texts import PAGE_MESSAGES
from dichvucong.forms.validation import has_control_characters
from dichvucong.stats import RATE_NAMES, Indicators, requested_period
from dichvucong.stats.indicators import scoped_statistics
from dichvucong.stats.periods import PeriodError
from dichvucong.temporal_client import start_once

router = APIRouter(tags=["supervision"], route_class=OneTripRoute)

PROVINCIAL_OFFICE = "000.00.12.H19"
SUPERVISOR_ROLES = ("supervisor", "admin")


# --------------------------------------------------------------------- scope


def supervised_agencies(principal: Principal) -> list[str] | None:
    """Agencies a supervisor may see: None = the whole province."""
    if not principal.is_official or not principal.has_role(*SUPERVISOR_ROLES):
        raise Forbidden("supervisor_only", "Chức năng dành cho cán bộ giám sát.")
    if principal.has_role("admin") or principal.agency_code == PROVINCIAL_OFFICE:
        return None
    return [principal.agency_code or ""]


def narrow(scope: list[str] | None, agency: str | None, catalog: Catalog) -> list[str] | None:
    if agency is None:
        return scope
    if agency not in catalog.agencies:
        raise NotFound("agency_not_found", f"Không có cơ quan mã {agency}.")
    if scope is not None and agency not in scope:
        raise Forbidden("agency_out_of_scope", "Bạn chỉ xem được số liệu của cơ quan mình.")
    return [agency]


def indicators_json(indicators: Indicators) -> dict[str, Any]:
    values = indicators.as_dict()
    for name in RATE_NAMES:
        if values[name] is not None:
            values[name] = round(values[name], 6)
    return values


# --------------------------------------------------------------------- stats


@router.get("/stats")
def get_stats(
    principal: CurrentOfficial,
    settings: SettingsDep,
    session: SessionDep,
    catalog: CatalogDep,
    calendar: CalendarDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    agency: str | None = None,
) -> dict[str, Any]:
    """Indicators over [from, to] (whole days, Vietnam time; default: this quarter).
    Rates are fractions 0–1 (null when nothing to divide)."""
    scope = narrow(supervised_agencies(principal), agency, catalog)
    try:
        period = requested_period(from_, to)
    except PeriodError as exc:
        raise DomainError("bad_period", str(exc)) from exc
    stats = scoped_statistics(
        session, period, scope=scope, listed=list(catalog.agencies), calendar=calendar
    )
    agencies = [
        {
            "code": code,
            "name": catalog.agency_name(code),
            **indicators_json(ind),
        }
        for code, ind in sorted(stats.by_agency.items())
    ]
    return {
        "period": {
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "label": period.label,
        },
        "scope": "province" if scope is None else "agency",
        "total": indicators_json(stats.total),
        "agencies": agencies,
    }


# --------------------------------------------------------------------- reports

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("/reports")
def get_report(
    principal: CurrentOfficial,
    settings: SettingsDep,
    session: SessionDep,
    catalog: CatalogDep,
    calendar: CalendarDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    # Empty ("Cả năm", "Tất cả") as the dashboard's report form sends them: the whole
    # year, every agency in scope.
    quarter_text: Annotated[str | None, Query(alias="quarter", pattern=r"^[1-4]?$")] = None,
    format: Literal["csv", "xlsx", "html"] = "xlsx",  # noqa: A002 - the query's name
    agency: str | None = None,
) -> Response:
    from dichvucong.reports import build_report, write_csv, write_xlsx

    quarter = int(quarter_text) if quarter_text else None
    agency = agency or None
    scope = narrow(supervised_agencies(principal), agency, catalog)
    if scope is not None and len(scope) == 1:
        agency = scope[0]
        if agency not in catalog.agencies:
            raise Forbidden("agency_out_of_scope", "Tài khoản không gắn với cơ quan nào.")
    report = build_report(session, catalog, calendar, year, quarter, agency)
    name = (
        f"bao-cao-{year}" + (f"-q{quarter}" if quarter else "") + (f"-{agency}" if agency else "")
    )
    if format == "html":
        from dichvucong.api.routes.supervision_pages import render_report

        return render_report(report, principal=principal)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.{format}"
        (write_csv if format == "csv" else write_xlsx)(report, path)
        content = path.read_bytes()
    return Response(
        content,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )


# --------------------------------------------------------------------- feedback


def _printable(value: str | None) -> str | None:
    # PostgreSQL refuses NUL in text, and no one writes the other C0 characters.
    if value is not None and has_control_characters(value):
        raise ValueError(PAGE_MESSAGES["control_character"])
    return value


Printable = AfterValidator(_printable)


class FeedbackCreate(BaseModel):
    kind: FeedbackKind = FeedbackKind.QUESTION
    subject: Annotated[str, Field(min_length=3, max_length=200), Printable]
    body: Annotated[str, Field(min_length=3, max_length=5000), Printable]
    agency_code: str | None = None
    procedure_code: str | None = None
    dossier_code: str | None = None
    contact_name: Annotated[str | None, Field(None, max_length=120), Printable] = None
    contact_email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    contact_phone: str | None = Field(None, max_length=15, pattern=r"^\+?[0-9 .-]{8,15}$")

    @model_validator(mode="after")
    def _about_something(self) -> FeedbackCreate:
        if not (self.agency_code or self.procedure_code or self.dossier_code):
            raise ValueError("nêu cơ quan, thủ tục hoặc hồ sơ được phản ánh")
        return self


class FeedbackCreated(BaseModel):
    code: str
    agency_code: str
    status: str
    received_at: datetime


class FeedbackAnswer(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=10000), Printable]
    publish: bool = False


class PublicAnswer(BaseModel):
    code: str
    kind: str
    procedure_code: str | None
    agency_code: str
    subject: str
    body: str
    answer: str | None
    received_at: datetime
    answered_at: datetime | None


def _feedback_code(agency: str, now: datetime) -> str:
    return f"PAKN-{agency}-{now.astimezone(VN_TZ):%y%m%d}-{uuid.uuid4().hex[:6].upper()}"


def _resolve_agency(
    data: FeedbackCreate, principal: Principal | None, session: Any, catalog: Catalog
) -> str:
    if data.dossier_code:
        dossier = session.get(Dossier, data.dossier_code)
        if dossier is None:
            raise NotFound("dossier_not_found", "Không tìm thấy hồ sơ.")
        if principal is None or (principal.is_citizen and dossier.applicant_id != principal.id):
            raise Forbidden("not_your_dossier", "Chỉ người nộp hồ sơ được phản ánh về hồ sơ này.")
        return dossier.agency_code
    if data.procedure_code:
        procedure = catalog.procedures.get(data.procedure_code)
        if procedure is None:
            raise NotFound("procedure_not_found", "Không tìm thấy thủ tục.")
        if data.agency_code:
            if data.agency_code not in procedure.agencies:
                raise DomainError("agency_mismatch", "Cơ quan không giải quyết thủ tục này.")
            return data.agency_code
        if len(procedure.agencies) == 1:
            return procedure.agencies[0]
        raise DomainError("agency_required", "Vui lòng chọn cơ quan giải quyết.")
    assert data.agency_code is not None
    if data.agency_code not in catalog.agencies:
        raise NotFound("agency_not_found", f"Không có cơ quan mã {data.agency_code}.")
    return data.agency_code


@router.post("/feedback", status_code=201, response_model=FeedbackCreated)
async def create_feedback(
    data: FeedbackCreate,
    principal: OptionalPrincipal,
    db: DatabaseDep,
    catalog: CatalogDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> FeedbackCreated:
    citizen_id = principal.id if principal is not None and principal.is_citizen else None
    if citizen_id is None and not (
        data.contact_name and (data.contact_email or data.contact_phone)
    ):
        raise DomainError(
            "contact_required",
            "Vui lòng cho biết họ tên và email hoặc số điện thoại để nhận trả lời.",
        )
    # The database in the thread pool, never on the loop; nothing held across the start.
    row = await run_in_threadpool(_store_feedback, db, data, principal, catalog, citizen_id)
    inp = FeedbackInput(
        code=row.code,
        agency_code=row.agency_code,
        received_at=row.received_at,  # type: ignore[arg-type]
        subject=row.subject,
        answer_days=settings.feedback_answer_days,
        warn_days=1,
        citizen_id=citizen_id,
        procedure_code=data.procedure_code,
        dossier_code=data.dossier_code,
    )
    try:
        await start_once(
            lambda: temporal.start_workflow(
                "FeedbackWorkflow", inp, id=inp.code, task_queue=settings.task_queue
            ),
            inp.code,
        )
    except Exception as exc:
        await run_in_threadpool(_forget_feedback, db, row.code)
        raise DomainError(
            "temporal_unavailable", "Hệ thống đang bận, vui lòng gửi lại sau.", status=503
        ) from exc
    return FeedbackCreated(code=row.code, agency_code=row.agency_code, status=row.status,
                           received_at=row.received_at)  # fmt: skip


def _store_feedback(
    db: Database,
    data: FeedbackCreate,
    principal: Principal | None,
    catalog: Catalog,
    citizen_id: int | None,
) -> Feedback:
    with db.session() as session:
        agency = _resolve_agency(data, principal, session, catalog)
        now = datetime.now(UTC)
        row = Feedback(
            code=_feedback_code(agency, now),
            kind=data.kind,
            agency_code=agency,
            procedure_code=data.procedure_code,
            dossier_code=data.dossier_code,
            citizen_id=citizen_id,
            contact_name=data.contact_name,
            contact_email=data.contact_email,
            contact_phone=data.contact_phone,
            subject=data.subject.strip(),
            body=data.body.strip(),
            received_at=now,
        )
        session.add(row)
        session.commit()
        return row


def _forget_feedback(db: Database, code: str) -> None:
    with db.session() as session:
        session.execute(delete(Feedback).where(col(Feedback.code) == code))
        session.commit()


@router.get("/feedback/public", response_model=list[PublicAnswer])
def public_feedback(
    session: SessionDep,
    procedure: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[PublicAnswer]:
    """Published questions with their answers ("Hỏi đáp"); never names or contacts."""
    stmt = select(Feedback).where(
        col(Feedback.published).is_(True), col(Feedback.answer).is_not(None)
    )
    if procedure:
        stmt = stmt.where(Feedback.procedure_code == procedure)
    stmt = stmt.order_by(col(Feedback.answered_at).desc()).limit(limit)
    return [
        PublicAnswer(
            code=f.code,
            kind=f.kind,
            procedure_code=f.procedure_code,
            agency_code=f.agency_code,
            subject=f.subject,
            body=f.body,
            answer=f.answer,
            received_at=f.received_at,  # type: ignore[arg-type]
            answered_at=f.answered_at,
        )
        for f in session.exec(stmt)
    ]


@router.post("/feedback/{code}/answer")
async def answer_feedback(
    code: str,
    data: FeedbackAnswer,
    principal: CurrentOfficial,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> dict[str, Any]:
    state = await answer_through_workflow(db, temporal, code, principal, data)
    return {
        "code": code,
        "status": state.status,
        "answered_at": state.answered_at,
        "published": state.published,
        "overdue": state.overdue,
    }


async def answer_through_workflow(
    db: Database, temporal: Any, code: str, principal: Principal, data: FeedbackAnswer
) -> FeedbackState:
    """The one answering path (JSON API and the officials' page): rights and the read
    model's answered flag first, then the workflow's ``answer`` Update. Refusals are
    DomainErrors with a Vietnamese detail."""
    await run_in_threadpool(_check_answerable, db, code, principal)
    handle = temporal.get_workflow_handle(code)
    try:
        state: FeedbackState = await handle.execute_update(
            "answer",
            FeedbackAnswerInput(
                text=data.text, official_id=str(principal.id), publish=data.publish
            ),
            result_type=FeedbackState,
        )
    except WorkflowUpdateFailedError as exc:
        message = getattr(exc.cause, "message", None) or str(exc.cause or exc)
        raise Conflict("answer_refused", message) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # its workflow ended: answered already
            raise Conflict("answer_refused", "Phản ánh, kiến nghị này đã được trả lời.") from exc
        raise DomainError(
            "temporal_unavailable", "Hệ thống đang bận, vui lòng gửi lại sau.", status=503
        ) from exc
    return state


def _check_answerable(db: Database, code: str, principal: Principal) -> None:
    with db.session() as session:
        row = session.exec(select(Feedback).where(Feedback.code == code)).first()
    if row is None:
        raise NotFound("feedback_not_found", "Không tìm thấy phản ánh, kiến nghị.")
    if principal.agency_code != row.agency_code and not (
        principal.agency_code == PROVINCIAL_OFFICE and principal.has_role(*SUPERVISOR_ROLES)
    ):
        raise Forbidden("other_agency", "Chỉ cán bộ của cơ quan được phản ánh mới trả lời.")
    if row.answered_at is not None:
        raise Conflict("already_answered", "Phản ánh, kiến nghị này đã được trả lời.")


@router.post("/feedback/{code}/publish")
def publish_feedback(
    code: str,
    principal: CurrentOfficial,
    session: SessionDep,
    settings: SettingsDep,
    published: bool = True,
) -> dict[str, Any]:
    """Publish (or withdraw) an answered item in the public Q&A."""
    row = session.exec(select(Feedback).where(Feedback.code == code)).first()
    if row is None:
        raise NotFound("feedback_not_found", "Không tìm thấy phản ánh, kiến nghị.")
    if (
        principal.agency_code != row.agency_code
        and supervised_agencies(principal) is not None
    ):
        raise Forbidden("other_agency", "Chỉ cán bộ của cơ quan được phản ánh mới công khai.")
    if row.answered_at is None:
        raise Conflict("not_answered", "Chỉ công khai phản ánh đã được trả lời.")
    row.published = published
    session.add(row)
    session.commit()
    return {"code": code, "published": row.published}


def feedback_scope(principal: Principal) -> list[str] | None:
    """Agencies whose feedback an official reads: their own; a supervisor's as for the
    statistics (the provincial office's supervisors: the whole province, None)."""
    if principal.has_role(*SUPERVISOR_ROLES):
        return supervised_agencies(principal)
    return [principal.agency_code or ""]
