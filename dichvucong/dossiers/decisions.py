"""Officials' decisions: checked here (rights: 403), answered by the workflow's
validator (state: 409 with its reason), applied as a Workflow Update whose id is
the caller's Idempotency-Key so a retried request acts once."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from dichvucong.accounts.principal import Principal
from dichvucong.api.problems import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    field_errors,
    temporal_unavailable,
)
from dichvucong.calendar.work_calendar import SUPPORTED_YEARS, WorkCalendar
from dichvucong.db.models import Dossier
from dichvucong.dossiers.submission import MAX_NOTE
from dichvucong.dossiers.views import DossierRow
from dichvucong.forms.validation import has_control_characters
from dichvucong.workflows import texts
from dichvucong.workflows.messages import (
    AcceptInput,
    Actor,
    ApologizeInput,
    ApproveInput,
    CounterPaymentInput,
    DocumentRef,
    HandOverInput,
    IssueResultInput,
    RedispatchInput,
    RefuseInput,
    RejectInput,
    RequestSupplementInput,
    SendBackInput,
    SupplementInput,
)

log = logging.getLogger("dichvucong.decisions")

# Which roles can ever take an action; the workflow decides whether *now*.
ACTION_ROLES: dict[str, tuple[str, ...]] = {
    "accept": ("reception",),
    "refuse": ("reception",),
    "request_supplement": ("reception", "specialist", "leader", "issuer"),
    "approve": ("specialist", "leader", "issuer"),
    "send_back": ("specialist", "leader", "issuer"),
    "reject": ("specialist", "leader", "issuer"),
    "apologize": ("leader",),
    "record_counter_payment": ("reception",),
    "issue_result": ("issuer",),
    "hand_over": ("reception", "issuer"),
    "redispatch": ("issuer",),
}


# Control characters are refused before the workflow: one in its history would block
# the read model (PostgreSQL refuses NUL in text). The check: forms.validation's.
def _plain_text(value: Any, handler: ValidatorFunctionWrapHandler) -> str:
    """A string of printable text within its bound, refused in Vietnamese."""
    try:
        text: str = handler(value)
    except ValidationError as exc:
        for error in exc.errors():
            if error["type"] == "string_too_long":
                limit = (error.get("ctx") or {}).get("max_length")
                raise PydanticCustomError(
                    "string_too_long",
                    texts.refusal("text_too_long", n=f"{limit:,}".replace(",", ".")),
                ) from None
            if error["type"] == "string_unicode":  # a lone surrogate ("\\ud800")
                raise PydanticCustomError(
                    "control_character", texts.refusal("control_character")
                ) from None
        raise
    if has_control_characters(text):
        raise PydanticCustomError("control_character", texts.refusal("control_character"))
    return text


# The one check of every free text an official sends, after its bound: printable text.
_PLAIN = WrapValidator(_plain_text)
Note = Annotated[str, StringConstraints(max_length=MAX_NOTE), _PLAIN]
Reason = Note
Line = Annotated[str, StringConstraints(max_length=500), _PLAIN]
StepName = Annotated[str, StringConstraints(max_length=60), _PLAIN]
ReceiptNo = Annotated[str, StringConstraints(max_length=40), _PLAIN]
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), _PLAIN]


class NoteBody(BaseModel):
    note: Note = ""


class IssueResultBody(BaseModel):
    note: Note = ""


class RefuseBody(BaseModel):
    reason: Reason


def _offset_required(value: Any, handler: ValidatorFunctionWrapHandler) -> datetime:
    """AwareDatetime's refusal of a moment without an offset, in Vietnamese."""
    try:
        moment: datetime = handler(value)
        return moment
    except ValidationError as exc:
        if any(e["type"] == "timezone_aware" for e in exc.errors()):
            raise PydanticCustomError(
                "timezone_aware", texts.refusal("timezone_required")
            ) from None
        raise


# A moment compared with the case's own deadlines: a naive one cannot be.
Moment = Annotated[AwareDatetime, WrapValidator(_offset_required)]


class RequestSupplementBody(BaseModel):
    items: list[Line] = Field(max_length=50)
    note: Note = ""


class SendBackBody(BaseModel):
    to_step: StepName
    reason: Reason


class RejectBody(BaseModel):
    reasons: list[Reason] = Field(max_length=20)


class ApologizeBody(BaseModel):
    new_due: Moment
    reason: Reason

    @field_validator("new_due")
    @classmethod
    def _within_the_calendar(cls, value: datetime) -> datetime:
        if value.year not in SUPPORTED_YEARS:
            raise ValueError("ngày hẹn mới không hợp lệ")
        return value


class CounterPaymentBody(BaseModel):
    receipt_no: ReceiptNo
    amount: int = Field(ge=0, le=10**12)


class RedispatchBody(BaseModel):
    address: Address | None = None

    @field_validator("address")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        # Blank means "send to the stored address", never "store a blank one".
        return value or None


BODIES: dict[str, type[BaseModel]] = {
    "accept": NoteBody,
    "refuse": RefuseBody,
    "request_supplement": RequestSupplementBody,
    "approve": NoteBody,
    "send_back": SendBackBody,
    "reject": RejectBody,
    "apologize": ApologizeBody,
    "record_counter_payment": CounterPaymentBody,
    "hand_over": NoteBody,
    "redispatch": RedispatchBody,
}


def acting_role(dossier: Dossier | DossierRow, principal: Principal, action: str) -> str:
    """The role the official acts in: one allowed now if the read model says so."""
    possible = [r for r in principal.roles if r in ACTION_ROLES.get(action, ())]
    if not possible:
        raise Forbidden(
            "role_forbidden",
            f"Vai trò của bạn không được thực hiện thao tác «{texts.action_label(action)}».",
        )
    allowed = (dossier.state or {}).get("allowed_actions", {})
    now = [r for r in possible if action in allowed.get(r, [])]
    return (now or possible)[0]


def build_input(
    action: str,
    body: dict[str, Any],
    actor: Actor,
    documents: list[DocumentRef] | None = None,
    *,
    calendar: WorkCalendar | None = None,
) -> Any:
    """The workflow's input of ``action`` from the request body (422 when it is not
    one). With ``calendar``, an apology's new date must be a working moment: the
    citizen is told to come, or to expect the result, then (Decree 61/2018, art. 19)."""
    if action == "issue_result":
        # The page's note and the API's alike: bounded (MAX_NOTE), printable text.
        note = _validated(IssueResultBody, {"note": body.get("note", "")}).note
        return IssueResultInput(documents=documents or [], note=note, actor=actor)
    model = BODIES.get(action)
    if model is None:
        raise NotFound("unknown_action", f"Không có thao tác «{action}».")
    data = _validated(model, body)
    if action == "apologize" and calendar is not None:
        _check_working_moment(calendar, data.new_due)
    values = data.model_dump()
    factory = {
        "accept": lambda: AcceptInput(note=values["note"], actor=actor),
        "refuse": lambda: RefuseInput(reason=values["reason"], actor=actor),
        "request_supplement": lambda: RequestSupplementInput(
            items=values["items"], note=values["note"], actor=actor
        ),
        "approve": lambda: ApproveInput(note=values["note"], actor=actor),
        "send_back": lambda: SendBackInput(
            to_step=values["to_step"], reason=values["reason"], actor=actor
        ),
        "reject": lambda: RejectInput(reasons=values["reasons"], actor=actor),
        "apologize": lambda: ApologizeInput(
            new_due=values["new_due"], reason=values["reason"], actor=actor
        ),
        "record_counter_payment": lambda: CounterPaymentInput(
            receipt_no=values["receipt_no"], amount=values["amount"], actor=actor
        ),
        "hand_over": lambda: HandOverInput(note=values["note"], actor=actor),
        "redispatch": lambda: RedispatchInput(address=values["address"], actor=actor),
    }
    return factory[action]()


def _validated(model: type[BaseModel], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = field_errors(exc.errors())
        raise DomainError(
            "invalid_body", "Dữ liệu thao tác không hợp lệ.", status=422, errors=errors
        ) from exc


def _control_characters_in(value: Any, loc: tuple[str | int, ...] = ()) -> Iterator[list[Any]]:
    """Where ``value`` (a message to the workflow) holds text with a control character."""
    if isinstance(value, str):
        if has_control_characters(value):
            yield list(loc)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _control_characters_in(getattr(value, f.name), (*loc, f.name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _control_characters_in(key, (*loc, str(key)))
            yield from _control_characters_in(item, (*loc, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _control_characters_in(item, (*loc, index))


def refuse_control_characters(payload: Any) -> None:
    """422 before Temporal for a message with a control character anywhere in its text
    (a supplement's note or form, a withdrawal's reason, what the bodies above let by)."""
    places = list(_control_characters_in(payload))
    if places:
        sentence = texts.refusal("control_character")
        raise DomainError(
            "invalid_body",
            "Dữ liệu thao tác không hợp lệ.",
            status=422,
            errors=[{"loc": loc, "msg": sentence} for loc in places],
        )


def _check_working_moment(calendar: WorkCalendar, moment: datetime) -> None:
    if not calendar.is_working_moment(moment):
        sentence = texts.refusal("apology_off_hours", due=texts.fmt_moment(moment))
        raise DomainError(
            "apology_off_hours",
            sentence,
            status=422,
            errors=[{"loc": ["new_due"], "msg": sentence}],
        )


def keyed_update_id(action: str, principal: Principal, idempotency_key: str) -> str:
    """The Update's id for a caller's Idempotency-Key: a retried request (same key)
    gets the first answer, and the pages can look up whether a key was taken."""
    return f"{action}:{principal.subject}:{idempotency_key}"


async def supplement_taken(
    client: Client, code: str, principal: Principal, idempotency_key: str
) -> bool:
    """Whether the workflow took the supplement sent with ``idempotency_key``: the
    Update of that id is looked up, never sent again, so a key that was not taken adds
    nothing to the case (a supplement form sent twice reads as sent, as a withdrawal)."""
    handle = client.get_workflow_handle(code).get_update_handle(
        keyed_update_id("supplement", principal, idempotency_key), result_type=dict
    )
    try:
        await handle.result(rpc_timeout=timedelta(seconds=10))
    except (RPCError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError):
        return False  # none of that id, refused, or no answer: "not sent" stays true
    return True


async def decide(
    *,
    client: Client,
    dossier: Dossier | DossierRow,
    principal: Principal,
    action: str,
    payload: Any,
    idempotency_key: str | None,
    update: str | None = None,
) -> dict[str, Any]:
    """Sends the decision (the Update named ``update``, by default ``action``); maps the
    workflow's refusal to 409 with its sentence and an unreachable Temporal to 503.

    Returns the workflow's ``DossierState`` as the JSON object it sent: callers read a
    field or two, and the API returns it as it came (decoding it into dataclasses and
    ``asdict`` back took more CPU than the rest of the request)."""
    refuse_control_characters(payload)
    handle = client.get_workflow_handle(dossier.code)
    # The update id makes a retried request (same key) return the first answer.
    update_id = (
        keyed_update_id(action, principal, idempotency_key)
        if idempotency_key
        else f"{action}:{uuid.uuid4()}"
    )
    try:
        state: dict[str, Any] = await handle.execute_update(
            update or action, payload, id=update_id, result_type=dict
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise Conflict("action_refused", message) from exc
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise Conflict(
                "case_closed", texts.refusal("closed", status=texts.status_label(dossier.status))
            ) from exc
        raise temporal_unavailable() from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        # Taken or not, the caller cannot know: the same Idempotency-Key gets the answer.
        raise temporal_unavailable() from exc
    log.info(
        "decision dossier_code=%s action=%s official=%s", dossier.code, action, principal.subject
    )
    return state


async def send_supplement(
    *,
    client: Client,
    dossier: Dossier | DossierRow,
    principal: Principal,
    supplement: SupplementInput,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """The citizen's supplement, taken or refused by the workflow (no longer waiting,
    closed) before the caller changes anything in the read model."""
    return await decide(
        client=client,
        dossier=dossier,
        principal=principal,
        action="supplement",
        update="submit_supplement",
        payload=supplement,
        idempotency_key=idempotency_key,
    )
