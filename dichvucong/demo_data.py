"""Demo cases of every kind, driven through the real workflows (development only).

`dichvucong demo-data --cases 300` submits dossiers and takes each one, as the
demo officials would, to a chosen point of its life: waiting for reception,
waiting for the citizen, in processing (some overdue), awaiting payment,
finished early, on time or late, refused, rejected, withdrawn. Paper dossiers
entered after the fact carry their real reception moment, which is how overdue
and late cases exist from the first minute.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import func, select
from temporalio.client import Client, WorkflowHandle

from dichvucong.accounts.passwords import hash_password
from dichvucong.catalog import Catalog, load_catalog
from dichvucong.catalog.models import Procedure
from dichvucong.db.engine import Database
from dichvucong.db.models import CitizenAccount, Dossier, DossierDocument, OfficialAccount
from dichvucong.documents.store import build_document_store, record_stored
from dichvucong.dossiers.codes import allocate_code
from dichvucong.dossiers.submission import rebuild_input, start_dossier_workflow
from dichvucong.forms.fees import compute_fee
from dichvucong.forms.validation import validate_form
from dichvucong.settings import Settings
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import (
    AcceptInput,
    Actor,
    ApproveInput,
    CounterPaymentInput,
    DocumentRef,
    HandOverInput,
    IssueResultInput,
    RefuseInput,
    RejectInput,
    RequestSupplementInput,
    WithdrawInput,
)

# scenario -> weight
SCENARIOS: dict[str, int] = {
    "submitted": 12,
    "supplement": 8,
    "processing": 14,
    "overdue": 10,
    "awaiting_payment": 6,
    "completed_early": 22,
    "completed_late": 8,
    "result_ready": 5,
    "refused": 5,
    "rejected": 5,
    "withdrawn": 5,
}

DEMO_PEOPLE = [
    ("Trần Thị Bình", "075185004321", "1985-03-12", "0903111222"),
    ("Lê Văn Cường", "075090007654", "1990-07-30", "0903333444"),
    ("Phạm Thị Dung", "075301002468", "2001-11-05", "0903555666"),
    ("Hoàng Văn Em", "075078009753", "1978-01-21", "0903777888"),
]

PDF_TEMPLATE = (
    "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    "2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n% {label}\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass
class DemoSummary:
    created: Counter[str] = field(default_factory=Counter)
    skipped_reason: str | None = None

    def describe(self) -> str:
        if self.skipped_reason:
            return f"Dữ liệu demo: bỏ qua ({self.skipped_reason})."
        parts = ", ".join(f"{name} {n}" for name, n in sorted(self.created.items()))
        return f"Dữ liệu demo: {sum(self.created.values())} hồ sơ ({parts})."


@dataclass
class _World:
    settings: Settings
    db: Database
    catalog: Catalog
    client: Client
    citizens: list[CitizenAccount]
    officials: dict[tuple[str, str], Actor]  # (agency, role) -> actor
    store: Any
    rng: random.Random


def _pdf(store: Any, db: Database, label: str, slot: str) -> DocumentRef:
    data = PDF_TEMPLATE.format(label=label).encode()
    ref = store.put_stream([data])
    record_stored(db, ref)
    return DocumentRef(
        sha256=ref.sha256, size=ref.size, media_type=ref.media_type, slot=slot, name=f"{slot}.pdf"
    )


def _form_values(procedure: Procedure, citizen: CitizenAccount) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in procedure.form_fields:
        kind = f.type
        if kind == "id_number":
            values[f.key] = citizen.id_number
        elif kind == "date":
            values[f.key] = citizen.date_of_birth.isoformat()
        elif kind == "number":
            values[f.key] = max(int(f.min or 1), 1)
        elif kind == "select" and f.options:
            values[f.key] = f.options[0].value
        elif kind == "checkbox":
            values[f.key] = True
        elif kind == "phone":
            values[f.key] = citizen.phone
        elif kind == "email":
            values[f.key] = "demo@example.vn"
        else:
            values[f.key] = citizen.full_name if "ten" in f.key else "Biên Hòa, Đồng Nai"
    cleaned, _ = validate_form(procedure, values)
    return cleaned


async def _create(world: _World, procedure: Procedure, scenario: str) -> WorkflowHandle[Any, Any]:
    rng, settings = world.rng, world.settings
    citizen = rng.choice(world.citizens)
    agency = rng.choice(procedure.agencies)
    counter = scenario in ("overdue", "completed_late")
    # Paper dossiers of the late scenarios were received weeks ago.
    now = datetime.now(UTC)
    submitted = now - timedelta(days=rng.randint(25, 40)) if counter else now
    form = _form_values(procedure, citizen)
    fee = compute_fee(procedure, form)
    required = [s for s in procedure.documents if s.required] or procedure.documents[:1]
    documents = [
        _pdf(world.store, world.db, f"{citizen.full_name} {s.key}", s.key) for s in required
    ]
    delivery = (
        "counter"
        if scenario == "result_ready"
        else ("online" if "online" in procedure.delivery_options else procedure.delivery_options[0])
    )
    with world.db.session() as session:
        code = allocate_code(session, agency, submitted)
        dossier = Dossier(
            code=code,
            procedure_code=procedure.code,
            agency_code=agency,
            applicant_id=citizen.id,
            applicant_id_number=citizen.id_number,
            applicant_name=citizen.full_name,
            channel="counter" if counter else "online",
            delivery=delivery,
            delivery_address=citizen.address if delivery == "postal" else None,
            form_data=form,
            submitted_at=submitted,
            fee_amount=fee.amount,
            payment_stage=procedure.payment_stage if fee.amount else "none",
            payment_status="pending" if fee.amount else "none",
            state={"fee_lines": fee.line_dicts()},
        )
        session.add(dossier)
        session.flush()
        rows = [
            DossierDocument(
                dossier_code=code,
                kind="submitted",
                slot=d.slot,
                name=d.name,
                media_type=d.media_type,
                size=d.size,
                sha256=d.sha256,
                added_at=submitted,
            )
            for d in documents
        ]
        session.add_all(rows)
        session.commit()
    await start_dossier_workflow(
        world.client, settings, rebuild_input(dossier, rows, world.catalog, settings)
    )
    return world.client.get_workflow_handle(code)


async def _drive(world: _World, procedure: Procedure, scenario: str) -> None:
    handle = await _create(world, procedure, scenario)
    code = handle.id
    agency = code.rsplit("-", 2)[0]

    def actor(role: str) -> Actor:
        return world.officials.get((agency, role), Actor("system", role))

    async def act(update: Callable[..., Any], payload: Any) -> Any:
        return await handle.execute_update(update, payload)

    if scenario == "submitted":
        return
    if scenario == "withdrawn":
        await act(DossierWorkflow.withdraw, WithdrawInput(reason="Công dân rút hồ sơ"))
        return
    if scenario == "refused":
        await act(
            DossierWorkflow.refuse,
            RefuseInput(
                reason="Thủ tục không thuộc thẩm quyền của cơ quan", actor=actor("reception")
            ),
        )
        return
    if scenario == "supplement":
        await act(
            DossierWorkflow.request_supplement,
            RequestSupplementInput(
                items=["Bản chụp CCCD rõ nét", "Tờ khai có chữ ký"], actor=actor("reception")
            ),
        )
        return
    received_at = None
    if scenario in ("overdue", "completed_late"):
        described = await handle.describe()
        received_at = described.start_time  # never before the submission record
        with world.db.session() as session:
            row = session.get(Dossier, code)
            received_at = row.submitted_at if row else received_at
    state = await act(
        DossierWorkflow.accept, AcceptInput(actor=actor("reception"), received_at=received_at)
    )
    if state.status == "AWAITING_PAYMENT":
        if scenario == "awaiting_payment":
            return
        state = await act(
            DossierWorkflow.record_counter_payment,
            CounterPaymentInput(
                receipt_no=f"BL-{code[-4:]}", amount=state.fee_amount, actor=actor("reception")
            ),
        )
    if scenario in ("processing", "overdue"):
        if state.step and world.rng.random() < 0.5:
            await act(DossierWorkflow.approve, ApproveInput(actor=actor(_role(procedure, 0))))
        return
    if scenario == "rejected":
        await act(
            DossierWorkflow.reject,
            RejectInput(
                reasons=["Hồ sơ không đáp ứng điều kiện theo quy định"],
                actor=actor(_role(procedure, 0)),
            ),
        )
        return
    for index, step in enumerate(procedure.steps):
        if step.role == "issuer" and index == len(procedure.steps) - 1:
            break
        await act(DossierWorkflow.approve, ApproveInput(actor=actor(step.role)))
    result = _pdf(world.store, world.db, f"Kết quả {code}", "ket_qua")
    state = await act(
        DossierWorkflow.issue_result, IssueResultInput(documents=[result], actor=actor("issuer"))
    )
    if state.status == "AWAITING_PAYMENT":
        state = await act(
            DossierWorkflow.record_counter_payment,
            CounterPaymentInput(
                receipt_no=f"BL-{code[-4:]}", amount=state.fee_amount, actor=actor("reception")
            ),
        )
    if state.status == "RESULT_READY" and scenario != "result_ready":
        await act(DossierWorkflow.hand_over, HandOverInput(actor=actor("reception")))


def _role(procedure: Procedure, index: int) -> str:
    return procedure.steps[index].role if procedure.steps else "specialist"


def _load_people(settings: Settings, db: Database) -> list[CitizenAccount]:
    with db.session() as session:
        for name, id_number, born, phone in DEMO_PEOPLE:
            exists = session.exec(
                select(CitizenAccount).where(CitizenAccount.id_number == id_number)
            ).first()
            if exists is None:
                session.add(
                    CitizenAccount(
                        full_name=name,
                        id_number=id_number,
                        date_of_birth=datetime.fromisoformat(born).date(),
                        phone=phone,
                        address="Phường Tân Phong, Biên Hòa, Đồng Nai",
                        password_hash=hash_password(settings.demo_password),
                    )
                )
        session.commit()
        return list(session.exec(select(CitizenAccount)).all())


def _load_officials(db: Database) -> dict[tuple[str, str], Actor]:
    with db.session() as session:
        officials = session.exec(select(OfficialAccount)).all()
    found: dict[tuple[str, str], Actor] = {}
    for official in officials:
        for role in official.roles:
            found.setdefault(
                (official.agency_code, role),
                Actor(official_id=f"official:{official.id}", role=role),
            )
    return found


async def generate(
    settings: Settings,
    client: Client,
    *,
    cases: int,
    seed: int = 2026,
    if_empty: bool = False,
    concurrency: int = 12,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    if settings.environment == "production":
        return DemoSummary(skipped_reason="không tạo dữ liệu demo khi environment=production")
    db = Database(settings.resolved_database_url)
    try:
        if if_empty:
            with db.session() as session:
                if session.exec(select(func.count()).select_from(Dossier)).one():
                    return DemoSummary(skipped_reason="đã có hồ sơ")
        catalog = load_catalog()
        world = _World(
            settings=settings,
            db=db,
            catalog=catalog,
            client=client,
            citizens=_load_people(settings, db),
            officials=_load_officials(db),
            store=build_document_store(settings),
            rng=random.Random(seed),
        )
        procedures = [p for p in catalog.procedures.values() if p.accepts_online]
        names, weights = list(SCENARIOS), list(SCENARIOS.values())
        # A fee paid on submission starts the clock at payment: late paper dossiers
        # are taken from the procedures whose clock starts at reception.
        clock_at_reception = [p for p in procedures if p.payment_stage != "on_submission"]
        plan = []
        for _ in range(cases):
            scenario = world.rng.choices(names, weights)[0]
            late = scenario in ("overdue", "completed_late") and clock_at_reception
            plan.append((world.rng.choice(clock_at_reception if late else procedures), scenario))
        summary = DemoSummary()
        gate = asyncio.Semaphore(concurrency)
        done = 0

        async def one(procedure: Procedure, scenario: str) -> None:
            nonlocal done
            async with gate:
                await _drive(world, procedure, scenario)
            summary.created[scenario] += 1
            done += 1
            if progress:
                progress(done, cases)

        await asyncio.gather(*(one(p, s) for p, s in plan))
        return summary
    finally:
        db.dispose()


def print_progress(done: int, total: int) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r  dữ liệu demo [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()
