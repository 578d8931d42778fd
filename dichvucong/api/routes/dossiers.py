"""Dossiers over JSON: submit, read, supplement, pay, download, rate, decide, look up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from temporalio.client import Client

from dichvucong.api.deps import (
    CatalogDep,
    CurrentCitizen,
    CurrentOfficial,
    CurrentPrincipal,
    DatabaseDep,
    DocumentStoreDep,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
    TemporalDep,
)
from dichvucong.api.problems import Conflict, DomainError, NotFound
from dichvucong.api.routing import OneTripRoute
from dichvucong.db.engine import Database
from dichvucong.db.models import CitizenDocument, Dossier, DossierDocument
from dichvucong.dossiers import decisions
from dichvucong.dossiers.inbox import open_work
from dichvucong.dossiers.rating import record_rating
from dichvucong.dossiers.submission import (
    MAX_NOTE,
    MESSAGES,
    SubmissionInvalid,
    SubmissionRequest,
    SubmissionService,
    row_id,
)
from dichvucong.dossiers.views import (
    DossierPublic,
    DossierSummary,
    LookupResult,
    citizen_documents,
    detail,
    lookup,
    result_released,
    summary,
    visible_dossier,
    withheld_documents,
)
from dichvucong.forms.validation import validate_form
from dichvucong.security.audit import audit_decision, audit_official_read
from dichvucong.settings import Settings
from dichvucong.workflows.messages import Actor, DocumentRef, SupplementInput, WithdrawInput

router = APIRouter(tags=["dossiers"], route_class=OneTripRoute)

MULTIPART_DOC = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["procedure_code", "agency_code", "delivery"],
                    "properties": {
                        "procedure_code": {"type": "string"},
                        "agency_code": {"type": "string"},
                        "delivery": {"type": "string", "enum": ["online", "postal", "counter"]},
                        "delivery_address": {"type": "string"},
                        "form": {"type": "string", "description": "JSON object of e-form fields"},
                        "<slot key>": {
                            "type": "string",
                            "format": "binary",
                            "description": "one part per document; name = slot key",
                        },
                        "reuse_<slot key>": {
                            "type": "integer",
                            "description": "id of a document in /me/documents",
                        },
                    },
                }
            }
        },
        "required": True,
    }
}
MAX_PARTS = 60
RESULT_NOT_READY = "Hồ sơ chưa có kết quả để tải về."


class SubmittedDossier(BaseModel):
    dossier_code: str
    status: str
    status_label: str = "Chờ tiếp nhận"
    fee_amount: int
    submitted_at: Any


class DossierList(BaseModel):
    items: list[DossierSummary]
    total: int


class MyDocument(BaseModel):
    id: int
    name: str
    media_type: str
    size: int
    sha256: str
    origin: str


class PaymentStart(BaseModel):
    payment_url: str


class RatingBody(BaseModel):
    level: Literal["very_satisfied", "satisfied", "unsatisfied"]
    comment: str = Field("", max_length=2000)


class LookupAnswer(BaseModel):
    results: list[LookupResult]


class InboxAnswer(BaseModel):
    items: list[DossierSummary]
    counts: dict[str, int]


# ------------------------------------------------------------------------ helpers


async def _read_form(request: Request, settings: Settings) -> FormData:
    # The body's size is bounded as it arrives (dichvucong.web.body_limit), with or
    # without a Content-Length header; here only the number of parts.
    return await request.form(max_files=MAX_PARTS, max_fields=MAX_PARTS)


def _uploads(form: FormData, exclude: set[str]) -> dict[str, list[UploadFile]]:
    uploads: dict[str, list[UploadFile]] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile) and key not in exclude:
            uploads.setdefault(key, []).append(value)
    return uploads


def _reuse(form: FormData) -> dict[str, list[int]]:
    reuse: dict[str, list[int]] = {}
    for key, value in form.multi_items():
        if key.startswith("reuse_") and isinstance(value, str) and value.strip():
            doc_id = row_id(value)
            if doc_id is None:
                raise SubmissionInvalid({f"documents.{key[6:]}": "Mã giấy tờ không hợp lệ."})
            reuse.setdefault(key[6:], []).append(doc_id)
    return reuse


def _json_object(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # also 5,000-digit numbers, deep nesting
        raise SubmissionInvalid({"form": "Trường form phải là một đối tượng JSON."}) from exc
    if not isinstance(value, dict):
        raise SubmissionInvalid({"form": "Trường form phải là một đối tượng JSON."})
    return value


def refuse_withheld(db: Database, owner_id: int, reuse: dict[str, list[int]]) -> None:
    """A result not released yet (its fee unpaid) cannot be reused either: the new
    dossier would hand its bytes back to the citizen. Refused as a document the
    citizen does not have, since "my documents" does not list it yet (blocking)."""
    if not reuse:
        return
    with db.read_session() as session:
        withheld = withheld_documents(session, owner_id, (i for ids in reuse.values() for i in ids))
    errors = {
        f"documents.{slot}": MESSAGES["reuse"]
        for slot, ids in reuse.items()
        if withheld.intersection(ids)
    }
    if errors:
        raise SubmissionInvalid(errors)


def submission_service(request: Request, temporal: Any) -> SubmissionService:
    state = request.app.state
    return SubmissionService(
        settings=state.settings,
        db=state.db,
        catalog=state.catalog,
        store=state.documents,
        temporal=temporal,
    )


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


# ------------------------------------------------------------------------ citizen


@router.post(
    "/dossiers", status_code=201, response_model=SubmittedDossier, openapi_extra=MULTIPART_DOC
)
async def submit_dossier(
    request: Request,
    principal: CurrentCitizen,
    settings: SettingsDep,
    db: DatabaseDep,
    temporal: TemporalDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> SubmittedDossier:
    form = await _read_form(request, settings)
    try:
        reuse = _reuse(form)
        await run_in_threadpool(refuse_withheld, db, principal.id, reuse)
        submission = SubmissionRequest(
            procedure_code=_text(form, "procedure_code"),
            agency_code=_text(form, "agency_code"),
            delivery=_text(form, "delivery") or "online",
            delivery_address=_text(form, "delivery_address") or None,
            form=_json_object(_text(form, "form") or None),
            uploads=_uploads(form, {"form"}),
            reuse=reuse,
            idempotency_key=idempotency_key,
        )
        dossier = await submission_service(request, temporal).submit(
            citizen_id=principal.id, request=submission
        )
    finally:
        await form.close()
    return SubmittedDossier(
        dossier_code=dossier.code,
        status=dossier.status,
        fee_amount=dossier.fee_amount,
        submitted_at=dossier.submitted_at,
    )


@router.get("/me/dossiers", response_model=DossierList)
def my_dossiers(
    principal: CurrentCitizen,
    session: SessionDep,
    catalog: CatalogDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DossierList:
    where = Dossier.applicant_id == principal.id
    total = session.exec(select(func.count()).select_from(Dossier).where(where)).one()
    rows = session.exec(
        select(Dossier)
        .where(where)
        .order_by(Dossier.submitted_at.desc())  # type: ignore[union-attr]
        .offset(offset)
        .limit(limit)
    ).all()
    return DossierList(items=[summary(d, catalog) for d in rows], total=total)


@router.get("/me/documents", response_model=list[MyDocument])
def my_documents(principal: CurrentCitizen, session: SessionDep) -> list[MyDocument]:
    rows = citizen_documents(session, principal.id)
    return [
        MyDocument(
            id=r.id or 0,
            name=r.name,
            media_type=r.media_type,
            size=r.size,
            sha256=r.sha256,
            origin=r.origin,
        )
        for r in rows
    ]


@router.get("/dossiers/{code}", response_model=DossierPublic)
def get_dossier(
    code: str,
    principal: CurrentPrincipal,
    session: ReadSessionDep,
    catalog: CatalogDep,
    request: Request,
    response: Response,
) -> DossierPublic:
    dossier = visible_dossier(session, code, principal)
    audit_official_read(request, principal, dossier.code, "dossier_detail")
    public = detail(session, dossier, catalog, principal)
    # The version a decision may name in If-Match (the case's seq).
    response.headers["ETag"] = f'"{public.seq}"'
    return public


@router.post("/dossiers/{code}/supplement", status_code=202, openapi_extra=MULTIPART_DOC)
async def supplement(
    code: str,
    request: Request,
    principal: CurrentCitizen,
    settings: SettingsDep,
    db: DatabaseDep,
    temporal: TemporalDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> dict[str, str]:
    dossier = await run_in_threadpool(_read_visible, db, code, principal)
    if dossier.status != "SUPPLEMENT_REQUESTED":
        # A retry of a supplement that went through (same key): the same answer.
        if idempotency_key and await decisions.supplement_taken(
            temporal, code, principal, idempotency_key
        ):
            return {"dossier_code": code, "status": "accepted"}
        raise Conflict("not_waiting_for_supplement", "Hồ sơ không ở trạng thái chờ bổ sung.")
    form = await _read_form(request, settings)
    try:
        service = submission_service(request, temporal)
        procedure = service.catalog.procedures[dossier.procedure_code]
        changes = _json_object(_text(form, "form") or None)
        # The form changes first: a wrong value is refused before a file is stored.
        merged = _merged_form(procedure, dossier.form_data or {}, changes)
        note = _text(form, "note")[:MAX_NOTE]

        async def send(refs: list[DocumentRef]) -> dict[str, Any]:
            supplement = SupplementInput(documents=refs, form_changes=changes, note=note)
            return await decisions.send_supplement(
                client=temporal, dossier=dossier, principal=principal,
                supplement=supplement, idempotency_key=idempotency_key,
            )  # fmt: skip

        # Refused: the files stored for it are removed, the form data stays as it was.
        await service.send_supplement(procedure, _uploads(form, {"form"}), send)
    finally:
        await form.close()
    if changes:
        await run_in_threadpool(_save_form_data, db, code, merged)
    return {"dossier_code": code, "status": "accepted"}


def _merged_form(
    procedure: Any, form_data: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any]:
    merged, errors = validate_form(procedure, {**form_data, **changes})
    if errors:
        raise SubmissionInvalid({f"form.{k}": v for k, v in errors.items()})
    return merged


def _save_form_data(db: Database, code: str, form_data: dict[str, Any]) -> None:
    with db.session() as session:
        row = session.get(Dossier, code)
        assert row is not None
        row.form_data = form_data
        session.add(row)
        session.commit()


@router.post("/dossiers/{code}/withdraw", response_model=DossierPublic)
async def withdraw(
    code: str,
    principal: CurrentCitizen,
    db: DatabaseDep,
    catalog: CatalogDep,
    temporal: TemporalDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> DossierPublic:
    dossier = await run_in_threadpool(_read_visible, db, code, principal)
    await decisions.decide(
        client=temporal,
        dossier=dossier,
        principal=principal,
        action="withdraw",
        payload=WithdrawInput(reason="Công dân rút hồ sơ"),
        idempotency_key=idempotency_key,
    )
    return await run_in_threadpool(_read_detail, db, catalog, code, principal)


def _read_visible(db: Any, code: str, principal: Any) -> Dossier:
    """A short session of its own: async routes never hold a connection across an await."""
    with db.read_session() as session:
        return visible_dossier(session, code, principal)


def _read_detail(db: Any, catalog: Any, code: str, principal: Any) -> DossierPublic:
    with db.read_session() as session:
        return detail(session, visible_dossier(session, code, principal), catalog, principal)


@router.post("/dossiers/{code}/payment", response_model=PaymentStart)
async def start_payment(
    request: Request, code: str, principal: CurrentCitizen, db: DatabaseDep, settings: SettingsDep
) -> PaymentStart:
    from dichvucong.integrations.payment_gateway import GatewayError
    from dichvucong.integrations.payment_gateway import start_payment as gateway_start

    dossier = await run_in_threadpool(_read_visible, db, code, principal)
    if dossier.status != "AWAITING_PAYMENT":
        raise Conflict("no_payment_due", "Hồ sơ hiện không chờ thanh toán.")
    try:
        url = await gateway_start(
            settings, dossier, db=db, calendar=request.app.state.calendar
        )
    except GatewayError as exc:
        raise DomainError(
            "gateway_unavailable",
            "Cổng thanh toán tạm thời không phản hồi, vui lòng thử lại sau.",
            status=503,
        ) from exc
    return PaymentStart(payment_url=url)


def _stream(store: Any, sha256: str) -> Iterator[bytes]:
    with store.open(sha256) as handle:
        while chunk := handle.read(64 * 1024):
            yield chunk


def _download(store: Any, doc: DossierDocument, *, inline: bool) -> StreamingResponse:
    disposition = "inline" if inline else "attachment"
    ascii_name = doc.name.encode("ascii", "ignore").decode() or "tai-lieu"
    from urllib.parse import quote

    headers = {
        "Content-Disposition": f'{disposition}; filename="{ascii_name}"; '
        f"filename*=UTF-8''{quote(doc.name)}",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(_stream(store, doc.sha256), media_type=doc.media_type, headers=headers)


@router.get(
    "/dossiers/{code}/result",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {}}}},
)
def download_result(
    code: str, principal: CurrentCitizen, session: SessionDep, store: DocumentStoreDep
) -> StreamingResponse:
    dossier = visible_dossier(session, code, principal)
    doc = session.exec(
        select(DossierDocument)
        .where(DossierDocument.dossier_code == dossier.code, DossierDocument.kind == "result")
        .order_by(DossierDocument.id)
    ).first()
    if doc is None or not result_released(dossier.status):
        raise NotFound("result_not_ready", RESULT_NOT_READY)
    return _download(store, doc, inline=False)


@router.get("/dossiers/{code}/documents/{sha256}", response_class=StreamingResponse)
def download_document(
    code: str,
    sha256: str,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    store: DocumentStoreDep,
    inline: bool = True,
) -> StreamingResponse:
    dossier = visible_dossier(session, code, principal)
    docs = session.exec(
        select(DossierDocument)
        .where(DossierDocument.dossier_code == dossier.code, DossierDocument.sha256 == sha256)
        .order_by(DossierDocument.id)  # type: ignore[arg-type]
    ).all()
    if not docs:
        raise NotFound("document_not_found", "Không tìm thấy tài liệu.")
    doc = docs[0]
    # The applicant has the bytes of what they sent; those of a result only once the
    # dossier releases it (after the fee charged before the result). Officials always.
    if (
        principal.is_citizen
        and all(d.kind == "result" for d in docs)
        and not result_released(dossier.status)
    ):
        raise NotFound("result_not_ready", RESULT_NOT_READY)
    audit_official_read(request, principal, dossier.code, "document", sha256=sha256)
    return _download(store, doc, inline=inline)


@router.post("/dossiers/{code}/rating", status_code=201)
def rate(
    code: str, body: RatingBody, principal: CurrentCitizen, session: SessionDep
) -> dict[str, str]:
    dossier = visible_dossier(session, code, principal)
    record_rating(session, dossier, body.level, body.comment.strip() or None)
    return {"dossier_code": code, "rating": body.level}


# ----------------------------------------------------------------------- officials


@router.get("/official/inbox", response_model=InboxAnswer)
def inbox(
    principal: CurrentOfficial,
    session: ReadSessionDep,
    catalog: CatalogDep,
    status: str | None = None,
    procedure: str | None = None,
    overdue: bool | None = None,
) -> InboxAnswer:
    mine = open_work(session, principal.agency_code, principal.roles,
                     procedure=procedure, overdue=overdue)  # fmt: skip
    counts: dict[str, int] = {}
    for d in mine:
        counts[d.status] = counts.get(d.status, 0) + 1
    if status:
        mine = [d for d in mine if d.status == status]
    return InboxAnswer(items=[summary(d, catalog) for d in mine], counts=counts)


def _seq_of(if_match: str | None) -> int | None:
    """If-Match: "7" (or 7, W/"7"): the case's seq; anything else is not a version."""
    if not if_match:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise DomainError("invalid_if_match", "If-Match phải là số thứ tự (seq) của hồ sơ.", status=400)
    return int(text)


@router.post("/dossiers/{code}/actions/{action}", response_model=dict[str, Any])
async def act(
    code: str,
    action: str,
    request: Request,
    principal: CurrentOfficial,
    db: DatabaseDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    if_match: Annotated[
        str | None,
        Header(
            max_length=20,
            description='The case\'s "seq" the decision is for (ETag-like, e.g. "7"): '
            "409 when the case has moved since.",
        ),
    ] = None,
) -> JSONResponse:
    if action not in decisions.ACTION_ROLES:
        raise NotFound("unknown_action", f"Không có thao tác «{action}».")
    dossier = await run_in_threadpool(_read_visible, db, code, principal)
    if dossier.agency_code != principal.agency_code:
        raise decisions.Forbidden("other_agency", "Hồ sơ thuộc cơ quan khác.")
    role = decisions.acting_role(dossier, principal, action)
    actor = Actor(
        official_id=f"official:{principal.id}", role=role, seen_seq=_seq_of(if_match)
    )
    documents: list[DocumentRef] = []
    body: dict[str, Any] = {}
    if action == "issue_result":
        documents, body = await _issued_documents(request, settings, temporal)
    else:
        try:
            body = await request.json() if await request.body() else {}
        except (ValueError, RecursionError) as exc:  # bad UTF-8, huge numbers, deep nesting
            raise DomainError(
                "invalid_json", "Nội dung không phải JSON hợp lệ.", status=400
            ) from exc
        if not isinstance(body, dict):
            raise DomainError("invalid_json", "Nội dung phải là một đối tượng JSON.", status=400)
    payload = decisions.build_input(
        action, body, actor, documents, calendar=request.app.state.calendar
    )
    state = await decisions.decide(
        client=temporal,
        dossier=dossier,
        principal=principal,
        action=action,
        payload=payload,
        idempotency_key=idempotency_key,
    )
    await run_in_threadpool(
        audit_decision, request, principal, dossier.code, action, role=role, seq=state["seq"]
    )
    if action == "issue_result" and dossier.applicant_id is not None:
        await run_in_threadpool(_keep_results_in, db, dossier.applicant_id, documents)
    return JSONResponse(state)  # the workflow's DossierState as it sent it


async def _issued_documents(
    request: Request, settings: Settings, temporal: Client
) -> tuple[list[DocumentRef], dict[str, Any]]:
    form = await _read_form(request, settings)
    try:
        files = [v for k, v in form.multi_items() if k == "result" and isinstance(v, UploadFile)]
        refs = await submission_service(request, temporal).store_results(files)
        return refs, {"note": _text(form, "note")[:MAX_NOTE]}
    finally:
        await form.close()


def _keep_results_in(db: Any, owner_id: int, documents: list[DocumentRef]) -> None:
    with db.session() as session:
        _keep_results(session, owner_id, documents)


def _keep_results(session: Any, owner_id: int, documents: list[DocumentRef]) -> None:
    """Results join the citizen's "my documents" too. Kept from the issue on, shown
    (listed, downloaded, reused) only once the dossier releases them, which may be a
    payment later: dichvucong.dossiers.views.citizen_documents."""
    for ref in documents:
        exists = session.exec(
            select(CitizenDocument).where(
                CitizenDocument.owner_id == owner_id,
                CitizenDocument.sha256 == ref.sha256,
                CitizenDocument.name == ref.name,
            )
        ).first()
        if exists is None:
            session.add(
                CitizenDocument(
                    owner_id=owner_id,
                    sha256=ref.sha256,
                    name=ref.name,
                    media_type=ref.media_type,
                    size=ref.size,
                    origin="result",
                )
            )
    session.commit()


# ------------------------------------------------------------------------- public


@router.get("/lookup", response_model=LookupAnswer)
def public_lookup(
    session: ReadSessionDep, catalog: CatalogDep, q: Annotated[str, Query(min_length=1, max_length=300)]
) -> LookupAnswer:
    return LookupAnswer(results=lookup(session, catalog, q))
