"""What each official form says, built from the read model (a Dossier row, its
documents and events) and the catalog. Plain, pre-formatted strings: the HTML
templates and the PDF renderer print the same values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from dichvucong.catalog import Catalog
from dichvucong.db.models import Dossier, DossierDocument, DossierEvent, OfficialAccount
from dichvucong.workflows import texts
from dichvucong.workflows.messages import STEP_ISSUE, STEP_PAYMENT, STEP_RECEPTION

FORM_NUMBERS = ("01", "02", "03", "04", "05")

TITLES: dict[str, str] = {
    "01": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "02": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
    "03": "Phiếu từ chối tiếp nhận, giải quyết hồ sơ",
    "04": "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
    "05": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
}

# Form 05's table needs the width of an A4 page (landscape); the others are A5.
PAGE_SIZES: dict[str, str] = {"01": "A5", "02": "A5", "03": "A5", "04": "A5", "05": "A4"}

TIMELINESS_LABELS: dict[str | None, str] = {
    "early": "Trước hạn",
    "on_time": "Đúng hạn",
    "late": "Quá hạn",
    None: "Đang xử lý",
}

DELIVERY_LABELS: dict[str, str] = {
    "online": "Nhận bản điện tử trên Cổng Dịch vụ công (mục «Hồ sơ của tôi»)",
    "postal": "Qua dịch vụ bưu chính công ích",
    "counter": "Trực tiếp tại Bộ phận Tiếp nhận và Trả kết quả",
}

STEP_NAMES: dict[str, str] = {
    STEP_RECEPTION: "Tiếp nhận hồ sơ",
    STEP_ISSUE: "Ban hành kết quả",
    STEP_PAYMENT: "Nộp phí, lệ phí",
    "delivery": "Trả kết quả",
}


# Form 01's notes where it has no return date to print.
DUE_NOTES: dict[str, str] = {
    "not_received": "Hồ sơ đang chờ tiếp nhận; ngày hẹn trả kết quả được thông báo khi hồ sơ "
    "được tiếp nhận.",
    "fee_first": "Ngày hẹn trả kết quả được tính khi hồ sơ đã nộp phí, lệ phí.",
}

NOT_AVAILABLE: dict[str, str] = {
    "slip_closed": "Hồ sơ không được tiếp nhận nên không có giấy tiếp nhận và hẹn trả kết quả.",
}

# Closed before reception: the agency never received the dossier, so there is no
# receipt to give and no date to promise (a refusal gets Form 03 instead).
CLOSED_UNRECEIVED = ("REFUSED", "WITHDRAWN")


class FormNotAvailable(LookupError):
    """The case has not reached the point where this form exists (e.g. no refusal)."""


@dataclass(frozen=True)
class FormSources:
    dossier: Dossier
    documents: list[DossierDocument]
    events: list[DossierEvent]
    officials: dict[str, str]  # "official:<id>" -> full name


def lookup_url(public_base_url: str, code: str) -> str:
    """What Form 01's QR code holds: the public lookup page for the dossier."""
    return f"{public_base_url.rstrip('/')}/tra-cuu?q={code}"


def moment(value: datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return texts.fmt_moment(value)


def long_date(value: datetime) -> str:
    """ "ngày 05 tháng 01 năm 2027", as administrative documents write dates."""
    local = value.astimezone(texts.VN_OFFSET)
    return f"ngày {local:%d} tháng {local:%m} năm {local:%Y}"


def load_sources(session: Session, dossier: Dossier) -> FormSources:
    documents = list(
        session.exec(
            select(DossierDocument)
            .where(DossierDocument.dossier_code == dossier.code)
            .order_by(DossierDocument.id)  # type: ignore[arg-type]
        ).all()
    )
    events = list(
        session.exec(
            select(DossierEvent)
            .where(DossierEvent.dossier_code == dossier.code)
            .order_by(DossierEvent.seq)  # type: ignore[arg-type]
        ).all()
    )
    ids = {
        int(actor.split(":", 1)[1])
        for actor in [e.actor for e in events]
        + [str(h.get("official_id") or "") for h in (dossier.state or {}).get("hand_overs", [])]
        if actor.startswith("official:") and actor.split(":", 1)[1].isdigit()
    }
    officials: dict[str, str] = {}
    if ids:
        rows = session.exec(
            select(OfficialAccount).where(OfficialAccount.id.in_(ids))  # type: ignore[union-attr]
        ).all()
        officials = {f"official:{r.id}": r.full_name for r in rows}
    return FormSources(dossier=dossier, documents=documents, events=events, officials=officials)


def official_name(sources: FormSources, actor: str | None) -> str:
    if not actor:
        return "—"
    if actor in sources.officials:
        return sources.officials[actor]
    return {"citizen": "Công dân", "system": "Hệ thống", "gateway": "Cổng thanh toán"}.get(
        actor, actor
    )


def step_name(catalog: Catalog, procedure_code: str, step: str | None) -> str:
    if not step:
        return "—"
    procedure = catalog.procedures.get(procedure_code)
    if procedure is not None:
        for s in procedure.steps:
            if s.key == step:
                return s.name
    return STEP_NAMES.get(step, step)


def _last(events: list[DossierEvent], *actions: str) -> DossierEvent | None:
    found = [e for e in events if e.action in actions]
    return found[-1] if found else None


def build_context(
    form_no: str,
    sources: FormSources,
    catalog: Catalog,
    *,
    public_base_url: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The values of form ``form_no`` for the case; FormNotAvailable if it has none."""
    if form_no not in FORM_NUMBERS:
        raise FormNotAvailable(f"Không có mẫu số {form_no}.")
    d = sources.dossier
    now = now or datetime.now(UTC)
    base: dict[str, Any] = {
        "form_no": form_no,
        "title": TITLES[form_no],
        "page_size": PAGE_SIZES[form_no],
        "agency_name": catalog.agency_name(d.agency_code),
        "dossier_code": d.code,
        "applicant_name": d.applicant_name,
        "procedure_name": catalog.procedure_name(d.procedure_code),
        "place_date": f"Đồng Nai, {long_date(now)}",
        "printed_at": moment(now),
    }
    builder = {"01": _form01, "02": _form02, "03": _form03, "04": _form04, "05": _form05}
    base.update(builder[form_no](sources, catalog, public_base_url))
    return base


def slip_available(status: str, received_at: datetime | None) -> bool:
    """Whether the case has a Form 01: not once it closed without being received."""
    return received_at is not None or status not in CLOSED_UNRECEIVED


def _form01(sources: FormSources, catalog: Catalog, public_base_url: str) -> dict[str, Any]:
    d = sources.dossier
    if not slip_available(d.status, d.received_at):
        raise FormNotAvailable(NOT_AVAILABLE["slip_closed"])
    procedure = catalog.procedures.get(d.procedure_code)
    slot_names = {s.key: s.name for s in procedure.documents} if procedure else {}
    documents = [
        {"name": slot_names.get(doc.slot, doc.slot), "file": doc.name}
        for doc in sources.documents
        if doc.kind in ("submitted", "supplement")
    ]
    delivery = DELIVERY_LABELS.get(d.delivery, d.delivery)
    address = (d.state or {}).get("delivery_address") or d.delivery_address
    if d.delivery == "postal" and address:
        delivery = f"{delivery}: {address}"
    received = d.received_at
    accept = _last(sources.events, "accept")
    return {
        "received_at": moment(received or d.submitted_at),
        "received": received is not None,
        "submitted_at": moment(d.submitted_at),
        "due_at": moment(d.due_at) if received else "",
        "due_note": _due_note(d),
        "documents": documents,
        "delivery": delivery,
        "fee": (f"{d.fee_amount:,}".replace(",", ".") + " đồng") if d.fee_amount else "Miễn phí",
        "time_limit": procedure.time_limit.describe() if procedure else "—",
        "lookup_url": lookup_url(public_base_url, d.code),
        "receiver": official_name(sources, accept.actor) if accept else "Hệ thống trực tuyến",
    }


def _due_note(d: Dossier) -> str:
    if d.received_at is None:
        return DUE_NOTES["not_received"]
    # A fee payable at submission: the time limit runs from the payment, so the
    # received slip has no date yet ("—") and says why.
    if d.due_at is None and d.status == "AWAITING_PAYMENT":
        return DUE_NOTES["fee_first"]
    return ""


def _form02(sources: FormSources, catalog: Catalog, public_base_url: str) -> dict[str, Any]:
    event = _last(sources.events, "request_supplement")
    if event is None:
        raise FormNotAvailable("Hồ sơ chưa có yêu cầu bổ sung.")
    items = [str(i) for i in (event.data or {}).get("items", [])]
    return {
        "items": items,
        "note": event.note or "",
        "official": official_name(sources, event.actor),
        "requested_at": moment(event.at),
        "place_date": f"Đồng Nai, {long_date(_aware(event.at))}",
        "step": step_name(catalog, sources.dossier.procedure_code, event.step),
    }


def _form03(sources: FormSources, catalog: Catalog, public_base_url: str) -> dict[str, Any]:
    event = _last(sources.events, "refuse", "reject")
    if event is None:
        raise FormNotAvailable("Hồ sơ không bị từ chối.")
    note = event.note or ""
    reasons = [r.strip() for r in note.split("; ")] if event.action == "reject" else [note.strip()]
    kind = "tiếp nhận" if event.action == "refuse" else "giải quyết"
    return {
        "kind": kind,
        "action": event.action,
        "reasons": [r for r in reasons if r],
        "official": official_name(sources, event.actor),
        "decided_at": moment(event.at),
        "place_date": f"Đồng Nai, {long_date(_aware(event.at))}",
    }


def _form04(sources: FormSources, catalog: Catalog, public_base_url: str) -> dict[str, Any]:
    history = list((sources.dossier.state or {}).get("due_history", []))
    index = next((i for i, h in enumerate(history) if h.get("reason") == "apology"), None)
    if index is None:
        raise FormNotAvailable("Hồ sơ chưa có phiếu xin lỗi và hẹn lại.")
    old = history[index - 1]["due_at"] if index > 0 else None
    event = _last(sources.events, "apologize")
    return {
        "reason": (event.note if event else "") or "",
        "old_due": moment(old),
        "new_due": moment(history[index]["due_at"]),
        "official": official_name(sources, event.actor if event else None),
        "apologized_at": moment(history[index]["at"]),
        "place_date": f"Đồng Nai, {long_date(datetime.fromisoformat(history[index]['at']))}",
    }


def _form05(sources: FormSources, catalog: Catalog, public_base_url: str) -> dict[str, Any]:
    d = sources.dossier
    hand_overs = list((d.state or {}).get("hand_overs", []))
    accept = _last(sources.events, "accept")
    giver = official_name(sources, accept.actor) if accept else "Bộ phận tiếp nhận"
    rows = []
    for h in hand_overs:
        receiver = texts.ROLE_LABELS.get(h.get("role") or "", h.get("role") or "")
        rows.append(
            {
                "step": h.get("step_name") or step_name(catalog, d.procedure_code, h.get("step")),
                "from": giver,
                "to": receiver.capitalize(),
                "received_at": moment(h.get("received_at")),
                "due_at": moment(h.get("due_at")),
                "finished_at": moment(h.get("finished_at")),
                "official": official_name(sources, h.get("official_id")),
                "action": texts.action_label(h["action"]) if h.get("action") else "—",
                "result": TIMELINESS_LABELS.get(h.get("result"), h.get("result") or "—"),
                "late": h.get("result") == "late",
            }
        )
        if h.get("official_id"):
            giver = official_name(sources, h.get("official_id"))
    return {
        "received_at": moment(d.received_at),
        "due_at": moment(d.due_at),
        "rows": rows,
        "status": texts.status_label(d.status),
    }


def _aware(value: datetime | None) -> datetime:
    assert value is not None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
