"""A citizen's submission: validate everything, store the documents, create the
dossier row and start its workflow — or leave nothing behind.

Order matters: all checks that need no storage run first; documents are
stored next (content-addressed, so a retry stores nothing new); the dossier row
and its code are written in one transaction; the workflow starts last. If the
workflow cannot start, the row, the "my documents" entries and the newly
stored files are removed again — unless the workflow exists after all
(``start_once``: a concurrent retry started it, or only the answer was lost).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from anyio import to_thread
from sqlalchemy import Table, bindparam, insert
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from dichvucong import search_attributes as sa
from dichvucong.api.problems import Conflict, DomainError
from dichvucong.catalog import Catalog
from dichvucong.catalog.models import DocumentSlot, Procedure
from dichvucong.db.engine import Database
from dichvucong.db.models import (
    CitizenAccount,
    CitizenDocument,
    Dossier,
    DossierDocument,
    StoredDocument,
    acting_roles,
    utcnow,
)
from dichvucong.documents.media import EmptyDocument, UnsafeDocument, UnsupportedMediaType
from dichvucong.documents.store import (
    DocumentStore,
    DocumentTooLarge,
    StoredRef,
    claims_for,
    discard_unreferenced,
)
from dichvucong.dossiers.codes import allocate_code
from dichvucong.forms.fees import compute_fee
from dichvucong.forms.validation import validate_form
from dichvucong.integrations.national import national_portal_url
from dichvucong.settings import Settings
from dichvucong.temporal_client import start_once
from dichvucong.workflows import patches, texts
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import CaseRules, DocumentRef, DossierInput
from dichvucong.workflows.rules import allowed_actions

log = logging.getLogger("dichvucong.submission")
T = TypeVar("T")

MESSAGES = {
    "procedure": "Thủ tục không tồn tại.",
    "procedure_offline": "Thủ tục này chỉ cung cấp biểu mẫu để tải về, chưa nộp trực tuyến.",
    "agency": "Cơ quan không giải quyết thủ tục này.",
    "delivery": "Hình thức nhận kết quả không hợp lệ cho thủ tục này.",
    "address": "Vui lòng nhập địa chỉ nhận kết quả qua bưu chính.",
    "address_long": "Địa chỉ nhận kết quả quá dài (tối đa {n} ký tự).",
    "slot_required": "Vui lòng đính kèm: {name}.",
    "slot_max": "Chỉ được đính kèm tối đa {n} tệp cho mục này.",
    "slot_type": "Tệp «{file}» không đúng loại cho phép ({types}).",
    "slot_unknown": "Mục giấy tờ không có trong thủ tục.",
    "file_type": "Tệp «{file}» không phải PDF hoặc JPEG (kiểm tra theo nội dung tệp).",
    "file_size": "Tệp «{file}» vượt quá dung lượng cho phép ({limit} MB).",
    "dossier_size": "Tổng dung lượng hồ sơ vượt quá {limit} MB.",
    "reuse": "Không tìm thấy giấy tờ đã lưu được chọn.",
    "empty_file": "Tệp «{file}» rỗng.",
    "unavailable": "Hệ thống xử lý hồ sơ đang bận; hồ sơ chưa được gửi. Vui lòng thử lại sau ít phút.",
}

IDEMPOTENCY_KEY_COLUMN = 128  # Dossier.idempotency_key
MAX_ADDRESS = 300  # as an official's redispatch address
MAX_NOTE = 2000  # a note that travels with a message to the workflow
TYPE_LABELS = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}

# A row id as a form sends it: ASCII digits, small enough for a 64-bit column
# ("²".isdigit() is True, and int() of 5,000 digits or 2**63 fails further down).
_ROW_ID = re.compile(r"[0-9]{1,18}")


def row_id(text: str) -> int | None:
    """The id a form field holds, or None when it is not one."""
    text = text.strip()
    return int(text) if _ROW_ID.fullmatch(text) else None


class SubmissionInvalid(DomainError):
    status = 422

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(
            "submission_invalid",
            "Hồ sơ chưa hợp lệ, vui lòng kiểm tra các mục được đánh dấu.",
            errors=errors,
        )
        self.errors = errors


class SubmissionUnavailable(DomainError):
    status = 503


class Upload(Protocol):
    """What the route hands over for a file part (FastAPI's UploadFile fits)."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


@dataclass
class SubmissionRequest:
    procedure_code: str
    agency_code: str
    delivery: str
    delivery_address: str | None
    form: dict[str, Any]
    uploads: dict[str, list[Upload]] = field(default_factory=dict)
    reuse: dict[str, list[int]] = field(default_factory=dict)  # slot -> CitizenDocument ids
    idempotency_key: str | None = None
    channel: str = "online"


@dataclass
class _Stored:
    slot: str
    name: str
    ref: StoredRef
    new: bool


def _limit_mb(limit: int) -> str:
    return f"{limit / 1024 / 1024:g}"


def check_request(
    procedure: Procedure | None, catalog: Catalog, request: SubmissionRequest
) -> tuple[dict[str, Any], dict[str, str]]:
    """Everything that can be checked before storing a byte."""
    errors: dict[str, str] = {}
    if procedure is None:
        return {}, {"procedure_code": MESSAGES["procedure"]}
    if not procedure.accepts_online:
        return {}, {"procedure_code": MESSAGES["procedure_offline"]}
    if request.agency_code not in procedure.agencies or request.agency_code not in catalog.agencies:
        errors["agency_code"] = MESSAGES["agency"]
    if request.delivery not in procedure.delivery_options:
        errors["delivery"] = MESSAGES["delivery"]
    elif request.delivery == "postal" and not (request.delivery_address or "").strip():
        errors["delivery_address"] = MESSAGES["address"]
    if len(request.delivery_address or "") > MAX_ADDRESS:
        errors["delivery_address"] = MESSAGES["address_long"].format(n=MAX_ADDRESS)
    cleaned, form_errors = validate_form(procedure, request.form)
    errors.update({f"form.{key}": message for key, message in form_errors.items()})
    slots = {slot.key: slot for slot in procedure.documents}
    for key in set(request.uploads) | set(request.reuse):
        if key not in slots:
            errors[f"documents.{key}"] = MESSAGES["slot_unknown"]
    for slot in procedure.documents:
        count = len(request.uploads.get(slot.key, [])) + len(request.reuse.get(slot.key, []))
        if slot.required and count == 0:
            errors[f"documents.{slot.key}"] = MESSAGES["slot_required"].format(name=slot.name)
        elif count > slot.max_count:
            errors[f"documents.{slot.key}"] = MESSAGES["slot_max"].format(n=slot.max_count)
    return cleaned, errors


class SubmissionService:
    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        catalog: Catalog,
        store: DocumentStore,
        temporal: Client,
    ) -> None:
        self.settings = settings
        self.db = db
        self.catalog = catalog
        self.store = store
        self.temporal = temporal

    async def submit(self, *, citizen_id: int, request: SubmissionRequest) -> Dossier:
        """The dossier of a new submission (or of the first one with the same key).

        The database is reached from the thread pool, a few statements at a time: the
        event loop never waits on it (a write lock the worker holds, a network round
        trip to PostgreSQL)."""
        key = _stored_key(citizen_id, request.idempotency_key)
        applicant, existing = await to_thread.run_sync(self._applicant_and_existing, citizen_id, key)
        if existing is not None:
            if existing.last_seq < 0:
                # The first attempt may have died before starting the workflow: finish it.
                await ensure_workflow(self.temporal, self.settings, self.catalog, self.db, existing)
            return existing
        procedure = self.catalog.procedures.get(request.procedure_code)
        cleaned, errors = check_request(procedure, self.catalog, request)
        if errors:
            raise SubmissionInvalid(errors)
        assert procedure is not None
        reused = (
            await to_thread.run_sync(self._reused, citizen_id, procedure, request.reuse)
            if request.reuse
            else []
        )
        # The uploads are claimed until the request ends: another request's failure
        # does not delete bytes this one stored too (see ``_discard``).
        with claims_for(self.store).lease():
            stored = await self._store_uploads(procedure, request)
            try:
                return await self._create(
                    applicant, procedure, request, cleaned, stored + reused, key
                )
            except BaseException:
                self._discard([s for s in stored if s.new])
                raise

    # -------------------------------------------------------------- steps

    def _applicant_and_existing(
        self, citizen_id: int, key: str | None
    ) -> tuple[Applicant, Dossier | None]:
        with self.db.engine.connect() as conn:
            row = conn.execute(_APPLICANT, {"id": citizen_id}).first()
        if row is None:  # the account went away after its token was issued
            raise DomainError("unauthenticated", "Vui lòng đăng nhập.", status=401)
        return Applicant(citizen_id, row.id_number, row.full_name, row.passport_number), (
            self._by_key(key) if key else None
        )

    def _by_key(self, key: str) -> Dossier | None:
        with self.db.engine.connect() as conn:
            code = conn.execute(_CODE_BY_KEY, {"key": key}).scalar_one_or_none()
        if code is None:
            return None
        with self.db.session() as session:  # a retry: rare, the whole row
            return session.get(Dossier, code)

    def reused_documents(
        self, citizen_id: int, procedure: Procedure, reuse: dict[str, list[int]]
    ) -> list[DocumentRef]:
        """Saved documents ("my documents") chosen for the slots of a supplement, checked
        as a new dossier's are (blocking: call from a worker thread)."""
        return [_ref(item) for item in self._reused(citizen_id, procedure, reuse)]

    def _reused(
        self, citizen_id: int, procedure: Procedure, reuse: dict[str, list[int]]
    ) -> list[_Stored]:
        """The citizen's own saved documents, still stored, of a type the slot accepts
        (the same rule as an upload: a JPEG saved before does not fit a PDF-only slot)."""
        wanted = [(slot, doc_id) for slot, ids in reuse.items() for doc_id in ids]
        if not wanted:
            return []
        slots = {slot.key: slot for slot in procedure.documents}
        errors: dict[str, str] = {}
        found: list[_Stored] = []
        with self.db.session() as session:
            for slot_key, doc_id in wanted:
                doc = session.get(CitizenDocument, doc_id)
                if doc is None or doc.owner_id != citizen_id or not self.store.exists(doc.sha256):
                    errors[f"documents.{slot_key}"] = MESSAGES["reuse"]
                    continue
                slot = slots.get(slot_key)
                if slot is None:
                    errors[f"documents.{slot_key}"] = MESSAGES["slot_unknown"]
                    continue
                if doc.media_type not in slot.accepted_types:
                    errors[f"documents.{slot_key}"] = _type_message(slot, doc.name)
                    continue
                found.append(
                    _Stored(
                        slot_key,
                        doc.name,
                        StoredRef(doc.sha256, doc.size, doc.media_type),
                        new=False,
                    )
                )
        if errors:
            raise SubmissionInvalid(errors)
        return found

    async def _store_uploads(
        self, procedure: Procedure, request: SubmissionRequest
    ) -> list[_Stored]:
        stored: list[_Stored] = []
        total = 0
        slots = {slot.key: slot for slot in procedure.documents}
        try:
            for slot_key, uploads in request.uploads.items():
                slot = slots[slot_key]
                for upload in uploads:
                    name = _safe_name(upload.filename)
                    item = await self._store_one(slot_key, name, upload)
                    stored.append(item)
                    total += item.ref.size
                    if item.ref.media_type not in slot.accepted_types:
                        raise SubmissionInvalid({f"documents.{slot_key}": _type_message(slot, name)})
                    if total > self.settings.max_dossier_bytes:
                        raise SubmissionInvalid(
                            {
                                "documents": MESSAGES["dossier_size"].format(
                                    limit=_limit_mb(self.settings.max_dossier_bytes)
                                )
                            }
                        )
        except BaseException:
            self._discard([s for s in stored if s.new])
            raise
        return stored

    async def _store_one(self, slot_key: str, name: str, upload: Upload) -> _Stored:
        try:
            ref = await self.store.aput_stream(upload, max_bytes=self.settings.max_file_bytes)
        except DocumentTooLarge as exc:
            raise SubmissionInvalid(
                {
                    f"documents.{slot_key}": MESSAGES["file_size"].format(
                        file=name, limit=_limit_mb(self.settings.max_file_bytes)
                    )
                }
            ) from exc
        except EmptyDocument as exc:  # before the type: no content has no type
            raise SubmissionInvalid(
                {f"documents.{slot_key}": MESSAGES["empty_file"].format(file=name)}
            ) from exc
        except UnsafeDocument as exc:
            # Its own sentence says what is wrong (active content, too many pixels…).
            raise SubmissionInvalid({f"documents.{slot_key}": f"«{name}»: {exc}"}) from exc
        except UnsupportedMediaType as exc:
            raise SubmissionInvalid(
                {f"documents.{slot_key}": MESSAGES["file_type"].format(file=name)}
            ) from exc
        known = await to_thread.run_sync(self._index, ref)
        return _Stored(slot_key, name, ref, new=not known)

    def _index(self, ref: StoredRef) -> bool:
        """Lists a stored file in ``stored_document``; True if it was listed already
        (the same bytes, uploaded before)."""
        try:
            with self.db.engine.begin() as conn:
                if conn.execute(_STORED, {"sha256": ref.sha256}).first() is not None:
                    return True
                conn.execute(_INSERT_STORED, {"sha256": ref.sha256, "size": ref.size,
                                              "media_type": ref.media_type,
                                              "created_at": datetime.now(UTC)})  # fmt: skip
        except IntegrityError:  # a concurrent upload of the same bytes listed it
            return True
        return False

    async def send_supplement(
        self,
        procedure: Procedure,
        uploads: dict[str, list[Upload]],
        send: Callable[[list[DocumentRef]], Awaitable[T]],
        *,
        reused: Sequence[DocumentRef] = (),
    ) -> T:
        """Stores a supplement's documents, then ``send``s them (with ``reused``) to the
        workflow. Nothing refers to the files until the workflow takes them, so a
        failure removes those this call stored new: a refused file, a cancellation, the
        workflow's refusal. Only when the answer to ``send`` is unknown (Temporal
        unreachable, timed out, cancelled mid-call) are they kept: the workflow may
        have taken them; the sweep removes them if it did not."""
        with claims_for(self.store).lease() as lease:
            stored = await self._store_supplement(procedure, uploads)
            new = [item for item in stored if item.new]
            sending = False
            try:
                refs = [_ref(item) for item in stored] + list(reused)
                sending = True
                return await send(refs)
            except BaseException as exc:
                if not sending or isinstance(exc, Conflict):  # refused: never taken
                    self._discard(new)
                else:  # the workflow may take them yet: not for another request to delete
                    lease.hold(self._grace_seconds)
                    if new:
                        log.warning("supplement_outcome_unknown files_kept=%d", len(new))
                raise

    async def _store_supplement(
        self, procedure: Procedure, uploads: dict[str, list[Upload]]
    ) -> list[_Stored]:
        """Documents sent with a supplement, per slot of the procedure. Any failure
        removes every file this call stored first: nothing is left behind."""
        slots = {slot.key: slot for slot in procedure.documents}
        unknown = [key for key in uploads if key not in slots]
        if unknown:
            raise SubmissionInvalid({f"documents.{k}": MESSAGES["slot_unknown"] for k in unknown})
        stored: list[_Stored] = []
        try:
            for slot_key, files in uploads.items():
                for upload in files:
                    name = _safe_name(upload.filename)
                    item = await self._store_one(slot_key, name, upload)
                    stored.append(item)
                    if item.ref.media_type not in slots[slot_key].accepted_types:
                        raise SubmissionInvalid(
                            {f"documents.{slot_key}": _type_message(slots[slot_key], name)}
                        )
        except BaseException:
            self._discard([item for item in stored if item.new])
            raise
        return stored

    async def store_results(self, uploads: list[Upload]) -> list[DocumentRef]:
        """The result document(s) an issuing official uploads; blank file parts (an
        empty file input in a browser form) are ignored."""
        uploads = [u for u in uploads if u.filename]
        if not uploads:
            raise SubmissionInvalid({"result": texts.refusal("documents_required")})
        # Referenced only once the caller's action reaches the workflow: claimed until
        # the sweep could take them anyway, so no failing request deletes them first.
        with claims_for(self.store).lease() as lease:
            lease.hold(self._grace_seconds)
            return [
                _ref(await self._store_one("result", upload.filename or "ket-qua.pdf", upload))
                for upload in uploads
            ]

    async def _create(
        self,
        applicant: Applicant,
        procedure: Procedure,
        request: SubmissionRequest,
        cleaned: dict[str, Any],
        documents: list[_Stored],
        key: str | None,
    ) -> Dossier:
        now = datetime.now(UTC)
        fee = compute_fee(procedure, cleaned)
        payment_stage = procedure.payment_stage if fee.amount > 0 else "none"
        agency = self.catalog.agencies[request.agency_code]
        dossier = Dossier(
            code="",  # the counter's next number, in the transaction below
            procedure_code=procedure.code,
            agency_code=request.agency_code,
            applicant_id=applicant.id,
            applicant_id_number=applicant.id_number,
            applicant_passport=applicant.passport_number,
            applicant_name=applicant.full_name,
            channel=request.channel,
            delivery=request.delivery,
            delivery_address=(request.delivery_address or "").strip() or None,
            idempotency_key=key,
            form_data=cleaned,
            status="SUBMITTED",
            submitted_at=now,
            fee_amount=fee.amount,
            payment_stage=payment_stage,
            payment_status="pending" if fee.amount else "none",
            state={
                "fee_lines": fee.line_dicts(),
                "allowed_actions": allowed_actions(
                    status="SUBMITTED",
                    step="reception",
                    step_role=None,
                    step_index=-1,
                    apology_open=False,
                    delivery=request.delivery,
                    paid=False,
                ),
            },
        )
        created = await to_thread.run_sync(self._insert, dossier, documents, key)
        if isinstance(created, Dossier):
            return created  # a concurrent retry of the same request won
        rows, new_docs = created
        code = dossier.code
        # The same input the reconciler would rebuild from these rows.
        inp = rebuild_input(dossier, rows, self.catalog, self.settings)
        try:
            await start_once(
                lambda: start_dossier_workflow(self.temporal, self.settings, inp), code
            )
        except Exception as exc:
            log.error("dossier_start_failed dossier_code=%s error=%s", code, type(exc).__name__)
            await to_thread.run_sync(self._undo, code, new_docs)
            raise SubmissionUnavailable("workflow_unavailable", MESSAGES["unavailable"]) from exc
        log.info(
            "dossier_submitted dossier_code=%s procedure=%s agency=%s",
            code,
            procedure.code,
            agency.code,
        )
        return dossier

    def _insert(
        self, dossier: Dossier, documents: list[_Stored], key: str | None
    ) -> tuple[list[DossierDocument], list[int]] | Dossier:
        """The dossier row under its new code, its documents and the citizen's "my
        documents" entries in one transaction; the row a concurrent retry wrote first
        when the key is taken."""
        assert dossier.submitted_at is not None and dossier.applicant_id is not None
        try:
            with self.db.engine.begin() as conn:
                dossier.code = allocate_code(conn, dossier.agency_code, dossier.submitted_at)
                values = {c: getattr(dossier, c) for c in _DOSSIER_COLUMNS}
                values["acting_roles"] = acting_roles(dossier.state)  # no ORM event on Core
                conn.execute(_INSERT_DOSSIER, values)
                # Listed at once; the workflow's first transition finds them and adds nothing.
                rows = [
                    DossierDocument(dossier_code=dossier.code, kind="submitted", slot=doc.slot,
                                    name=doc.name, media_type=doc.ref.media_type,
                                    size=doc.ref.size, sha256=doc.ref.sha256,
                                    added_at=dossier.submitted_at)
                    for doc in documents
                ]  # fmt: skip
                if rows:
                    conn.execute(_INSERT_DOCUMENT, [_document_values(r) for r in rows])
                new_docs = _remember_documents(conn, dossier.applicant_id, documents)
        except IntegrityError:
            if key and (existing := self._by_key(key)) is not None:
                return existing
            raise
        return rows, new_docs

    def _undo(self, code: str, citizen_doc_ids: list[int]) -> None:
        with self.db.session() as session:
            for doc in session.exec(
                select(DossierDocument).where(DossierDocument.dossier_code == code)
            ).all():
                session.delete(doc)
            session.flush()
            dossier = session.get(Dossier, code)
            if dossier is not None:
                session.delete(dossier)
            for doc_id in citizen_doc_ids:
                row = session.get(CitizenDocument, doc_id)
                if row is not None:
                    session.delete(row)
            session.commit()

    @property
    def _grace_seconds(self) -> float:
        """How long the sweep leaves an unreferenced file alone."""
        return self.settings.document_sweep_grace_hours * 3600.0

    def _discard(self, stored: list[_Stored]) -> None:
        """Remove files this request stored first, unless a ``DossierDocument`` or a
        ``CitizenDocument`` refers to them now, or another request of this process has
        stored or claimed the same bytes (two uploads of one file are one file). When
        in doubt (the database unreachable) they stay: the sweep removes orphans."""
        if not stored:
            return
        try:
            discard_unreferenced(self.db, self.store, [item.ref.sha256 for item in stored])
        except Exception as exc:
            log.warning(
                "documents_discard_skipped count=%d error=%s", len(stored), type(exc).__name__
            )


def case_rules(settings: Settings) -> CaseRules:
    return CaseRules(
        reception_limit_hours=settings.reception_limit_hours,
        supplement_window_days=settings.supplement_window_days,
        payment_reminder_days=settings.payment_reminder_days,
        payment_expiry_days=settings.payment_expiry_days,
        at_risk_days=settings.at_risk_days,
        paper_cutoff=settings.paper_cutoff,
        supplement_request_days=settings.supplement_request_days,
        postal_dispatch_limit_hours=settings.postal_dispatch_limit_hours,
        national_sync=national_portal_url(settings) is not None,
    )


async def start_dossier_workflow(client: Client, settings: Settings, inp: DossierInput) -> None:
    await client.start_workflow(
        DossierWorkflow.run,
        inp,
        id=inp.dossier_code,
        task_queue=settings.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        # Visible to supervisors from the first second, before the first transition.
        search_attributes=sa.at_submission(
            agency_code=inp.agency_code,
            procedure_code=inp.procedure_code,
            submitted_at=inp.submitted_at,
        ),
        static_summary=texts.static_summary(inp.procedure_name, inp.agency_name),
        static_details=f"Hồ sơ {inp.dossier_code} — nộp {texts.fmt_moment(inp.submitted_at)}",
    )


@dataclass(frozen=True)
class Applicant:
    """The columns of the citizen's account a new dossier copies."""

    id: int
    id_number: str | None
    full_name: str
    passport_number: str | None = None


# Statements built once, values bound at execution (a submission runs each of them).
_citizens: Table = CitizenAccount.__table__  # type: ignore[attr-defined]
_dossiers: Table = Dossier.__table__  # type: ignore[attr-defined]
_documents: Table = DossierDocument.__table__  # type: ignore[attr-defined]
_stored: Table = StoredDocument.__table__  # type: ignore[attr-defined]
_mine: Table = CitizenDocument.__table__  # type: ignore[attr-defined]
_APPLICANT = sa_select(
    _citizens.c.id_number, _citizens.c.full_name, _citizens.c.passport_number
).where(
    _citizens.c.id == bindparam("id")
)
_CODE_BY_KEY = sa_select(_dossiers.c.code).where(_dossiers.c.idempotency_key == bindparam("key"))
_STORED = sa_select(_stored.c.sha256).where(_stored.c.sha256 == bindparam("sha256"))
_INSERT_STORED = insert(_stored)
_DOSSIER_COLUMNS = tuple(c.name for c in _dossiers.columns)
_INSERT_DOSSIER = insert(_dossiers)
_INSERT_DOCUMENT = insert(_documents)
_MY_DOCUMENT = sa_select(_mine.c.id).where(
    _mine.c.owner_id == bindparam("owner_id"), _mine.c.sha256 == bindparam("sha256"),
    _mine.c.name == bindparam("name"))  # fmt: skip
_INSERT_MY_DOCUMENT = insert(_mine).returning(_mine.c.id)


def _document_values(row: DossierDocument) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in _documents.columns if c.name != "id"}


def _remember_documents(conn: Connection, owner_id: int, documents: list[_Stored]) -> list[int]:
    """Uploads join "my documents" so the next dossier can reuse them; the ids added."""
    added: list[int] = []
    for doc in documents:
        key = {"owner_id": owner_id, "sha256": doc.ref.sha256, "name": doc.name}
        if conn.execute(_MY_DOCUMENT, key).first() is None:
            added.append(conn.execute(_INSERT_MY_DOCUMENT, {
                **key, "media_type": doc.ref.media_type, "size": doc.ref.size,
                "origin": "upload", "created_at": utcnow()}).scalar_one())  # fmt: skip
    return added


def _ref(item: _Stored) -> DocumentRef:
    return DocumentRef(
        sha256=item.ref.sha256,
        size=item.ref.size,
        media_type=item.ref.media_type,
        slot=item.slot,
        name=item.name,
    )


def _stored_key(citizen_id: int, idempotency_key: str | None) -> str | None:
    """The key as the dossier row keeps it, per citizen and within its 128-character
    column (a client's own key may be 128 characters long already)."""
    if not idempotency_key:
        return None
    key = f"{citizen_id}:{idempotency_key}"
    if len(key) <= IDEMPOTENCY_KEY_COLUMN:
        return key
    return f"{citizen_id}:sha256:{hashlib.sha256(idempotency_key.encode()).hexdigest()}"


def _type_message(slot: DocumentSlot, name: str) -> str:
    types = ", ".join(TYPE_LABELS.get(t, t) for t in slot.accepted_types)
    return MESSAGES["slot_type"].format(file=name, types=types)


def _safe_name(filename: str | None) -> str:
    """A display name only: never used as a path."""
    name = (filename or "tep").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "tep"
    return name[:120]


def rebuild_input(
    dossier: Dossier, documents: list[DossierDocument], catalog: Catalog, settings: Settings
) -> DossierInput:
    """The workflow input of a dossier row: at submission, and again for a row whose
    workflow never started (so a restarted case gets exactly the input it had)."""
    procedure = catalog.procedures[dossier.procedure_code]
    agency = catalog.agencies[dossier.agency_code]
    assert dossier.submitted_at is not None
    return DossierInput(
        dossier_code=dossier.code,
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        agency_code=agency.code,
        agency_name=agency.name,
        submitted_at=dossier.submitted_at,
        steps=procedure.step_specs(),
        time_limit_days=procedure.time_limit_days,
        time_limit_hours=procedure.time_limit_hours,
        time_limit_same_day=procedure.time_limit.same_day,
        applicant_id=dossier.applicant_id,
        channel=dossier.channel,
        delivery=dossier.delivery,
        delivery_address=dossier.delivery_address,
        payment_stage=dossier.payment_stage,
        fee_amount=dossier.fee_amount,
        fee_lines=list((dossier.state or {}).get("fee_lines", [])),
        documents=[
            DocumentRef(
                sha256=d.sha256, size=d.size, media_type=d.media_type, slot=d.slot, name=d.name
            )
            for d in documents
            if d.kind == "submitted"
        ],
        rules=case_rules(settings),
        # Today's workflow code from the first task on, without patch markers.
        patches=list(patches.KNOWN),
    )


async def ensure_workflow(
    client: Client, settings: Settings, catalog: Catalog, db: Database, dossier: Dossier
) -> bool:
    """Starts the dossier's workflow if it does not exist; True if it started now."""
    documents = await to_thread.run_sync(_documents_of, db, dossier.code)
    try:
        await start_dossier_workflow(
            client, settings, rebuild_input(dossier, documents, catalog, settings)
        )
    except WorkflowAlreadyStartedError:
        return False
    log.info("dossier_workflow_recovered dossier_code=%s", dossier.code)
    return True


def _documents_of(db: Database, code: str) -> list[DossierDocument]:
    with db.session() as session:
        return list(
            session.exec(select(DossierDocument).where(DossierDocument.dossier_code == code)).all()
        )


async def reconcile_unstarted(
    *, client: Client, settings: Settings, catalog: Catalog, db: Database, older_than: timedelta
) -> list[str]:
    """Dossier rows whose workflow never started (the API died in between): start them.

    The citizen's submission is completed rather than dropped, so nothing they sent
    is lost; rows still inside ``older_than`` may belong to a request in flight.
    """
    rows = await to_thread.run_sync(_unstarted, db, datetime.now(UTC) - older_than)
    return [row.code for row in rows if await ensure_workflow(client, settings, catalog, db, row)]


def _unstarted(db: Database, submitted_before: datetime) -> list[Dossier]:
    with db.session() as session:
        return list(
            session.exec(
                select(Dossier).where(Dossier.last_seq < 0, Dossier.submitted_at < submitted_before)
            ).all()
        )  # type: ignore[operator]
