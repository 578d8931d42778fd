"""A failed submission removes the files it stored first — but never bytes another
dossier, a citizen's saved document or another request in flight uses: uploads are
content-addressed, so the same bytes are one file for everybody."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Awaitable, Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from dichvucong.catalog import load_catalog
from dichvucong.db.engine import Database
from dichvucong.db.models import (
    CitizenAccount,
    CitizenDocument,
    Dossier,
    DossierDocument,
    StoredDocument,
)
from dichvucong.documents import LocalDocumentStore, record_stored
from dichvucong.documents.store import claims_for, discard_unreferenced
from dichvucong.dossiers.submission import (
    SubmissionInvalid,
    SubmissionRequest,
    SubmissionService,
    SubmissionUnavailable,
)
from dichvucong.seed import seed
from dichvucong.settings import Settings
from tests.api.portal import LLTP_FORM, PDF_BYTES, STP
from tests.documents.samples import PNG

SLOT = "giay_to_tuy_than"  # PDF or JPEG, up to two files


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Upload:
    """FastAPI's UploadFile as the service sees it; ``gate``: the first read waits
    for it (after setting ``reached``), as a slow client's body would."""

    def __init__(self, data: bytes, filename: str = "cccd.pdf",
                 gate: asyncio.Event | None = None) -> None:
        self.filename = filename
        self._io = io.BytesIO(data)
        self.gate = gate
        self.reached = asyncio.Event()

    async def read(self, size: int = -1) -> bytes:
        if self.gate is not None:
            self.reached.set()
            await self.gate.wait()
            self.gate = None
        return self._io.read(size)


class Temporal:
    """Just ``start_workflow``: waits for ``gate`` (after setting ``waiting``), runs
    ``meanwhile`` once, then fails or records the start."""

    def __init__(self, *, fail: bool, gate: asyncio.Event | None = None,
                 meanwhile: Callable[[], None] | None = None) -> None:
        self.fail = fail
        self.gate = gate
        self.meanwhile = meanwhile
        self.waiting = asyncio.Event()
        self.started: list[str] = []

    async def start_workflow(self, *args: Any, **kwargs: Any) -> None:
        self.waiting.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        if self.fail:
            raise RuntimeError("temporal unreachable")
        self.started.append(kwargs["id"])


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.settings = Settings(var_dir=tmp_path, environment="test",
                                 secret_key="test-secret-0123456789")
        seed(self.settings)
        self.db = Database(self.settings.resolved_database_url)
        self.store = LocalDocumentStore(tmp_path / "docs", max_bytes=1024 * 1024)
        self.catalog = load_catalog()
        self.citizens = [self._citizen(n) for n in range(3)]

    def _citizen(self, n: int) -> int:
        with self.db.session() as session:
            row = CitizenAccount(full_name=f"Công Dân {n}", id_number=f"07520300100{n}",
                                 date_of_birth=date(2003, 5, 17), phone=f"091234500{n}",
                                 address="Biên Hòa", password_hash="x")
            session.add(row)
            session.commit()
            assert row.id is not None
            return row.id

    def service(self, temporal: Temporal) -> SubmissionService:
        return SubmissionService(settings=self.settings, db=self.db, catalog=self.catalog,
                                 store=self.store, temporal=temporal)  # type: ignore[arg-type]

    def submit(self, citizen: int, temporal: Temporal,
               *uploads: Upload) -> Awaitable[Dossier]:
        request = SubmissionRequest(procedure_code="ly-lich-tu-phap", agency_code=STP,
                                    delivery="online", delivery_address=None,
                                    form=dict(LLTP_FORM), uploads={SLOT: list(uploads)})
        return self.service(temporal).submit(citizen_id=citizen, request=request)

    def stored_row(self, digest: str) -> StoredDocument | None:
        with self.db.session() as session:
            return session.get(StoredDocument, digest)

    def documents_of(self, code: str) -> list[str]:
        with self.db.session() as session:
            return [d.sha256 for d in session.exec(
                select(DossierDocument).where(DossierDocument.dossier_code == code)).all()]

    def other_dossier_refers_to(self, digest: str) -> None:
        """A dossier of another request (or process) lists ``digest``: a supplement or
        a result, recorded by the worker, with no saved document of any citizen."""
        with self.db.session() as session:
            session.add(Dossier(code="D-OTHER", procedure_code="ly-lich-tu-phap",
                                agency_code=STP))
            session.commit()
            session.add(DossierDocument(dossier_code="D-OTHER", kind="supplement", slot=SLOT,
                                        name="bo-sung.pdf", media_type="application/pdf",
                                        size=1, sha256=digest))
            session.commit()

    def citizen_saved(self, digest: str) -> None:
        with self.db.session() as session:
            session.add(CitizenDocument(owner_id=self.citizens[2], sha256=digest,
                                        name="cccd.pdf", media_type="application/pdf", size=1))
            session.commit()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.db.dispose()


# ------------------------------------------------------- bytes nobody else uses


async def test_a_failed_start_with_unique_bytes_leaves_no_file(world: World) -> None:
    data = PDF_BYTES + b"%unique"
    with pytest.raises(SubmissionUnavailable):
        await world.submit(world.citizens[0], Temporal(fail=True), Upload(data))
    assert not world.store.exists(sha(data))
    assert world.stored_row(sha(data)) is None
    assert list(world.store.list_all()) == []
    # The claims ended with the request: the same bytes failing again go as well.
    with pytest.raises(SubmissionUnavailable):
        await world.submit(world.citizens[0], Temporal(fail=True), Upload(data))
    assert list(world.store.list_all()) == []
    assert not claims_for(world.store).claimed(sha(data))


async def test_a_refused_upload_after_a_stored_one_leaves_no_file(world: World) -> None:
    data = PDF_BYTES + b"%unique-too"
    with pytest.raises(SubmissionInvalid):  # a PNG does not fit the slot: after storing
        await world.submit(world.citizens[0], Temporal(fail=False),
                           Upload(data), Upload(PNG, "anh.png"))
    assert not world.store.exists(sha(data))
    assert world.stored_row(sha(data)) is None


# ------------------------------------------------- referenced in the database


@pytest.mark.parametrize("reference", ["dossier_document", "citizen_document"])
async def test_bytes_referenced_meanwhile_are_kept(world: World, reference: str) -> None:
    """New for this request when it stored them; a committed row of another request
    refers to them by the time it fails."""
    data = PDF_BYTES + b"%shared-" + reference.encode()
    digest = sha(data)
    refer = (world.other_dossier_refers_to if reference == "dossier_document"
             else world.citizen_saved)
    temporal = Temporal(fail=True, meanwhile=lambda: refer(digest))
    with pytest.raises(SubmissionUnavailable):
        await world.submit(world.citizens[0], temporal, Upload(data))
    assert world.store.exists(digest)
    with world.store.open(digest) as fh:
        assert fh.read() == data
    assert world.stored_row(digest) is not None  # still indexed: the sweep keeps it


async def test_a_refused_upload_keeps_bytes_a_dossier_refers_to(world: World) -> None:
    data = PDF_BYTES + b"%listed"
    world.other_dossier_refers_to(sha(data))  # the file itself went missing from the index
    with pytest.raises(SubmissionInvalid):
        await world.submit(world.citizens[0], Temporal(fail=False),
                           Upload(data), Upload(PNG, "anh.png"))
    assert world.store.exists(sha(data))


# ------------------------------------------------------ another request in flight


async def test_a_failure_keeps_bytes_another_request_in_flight_stored(world: World) -> None:
    """A stores X first (new), B stores X too (already listed) and is still receiving
    its second file when A's workflow cannot start: B's dossier must keep X."""
    shared = PDF_BYTES + b"%shared-in-flight"
    digest = sha(shared)
    gate_a, gate_b = asyncio.Event(), asyncio.Event()
    failing = Temporal(fail=True, gate=gate_a)
    a = asyncio.create_task(world.submit(world.citizens[0], failing, Upload(shared)))
    await asyncio.wait_for(failing.waiting.wait(), 10)  # A: X stored, dossier row written

    slow = Upload(PDF_BYTES + b"%second", "ho-khau.pdf", gate=gate_b)
    working = Temporal(fail=False)
    b = asyncio.create_task(world.submit(world.citizens[1], working,
                                         Upload(shared), slow))
    await asyncio.wait_for(slow.reached.wait(), 10)  # B: X stored, second file on its way
    assert claims_for(world.store).claimed(digest)

    gate_a.set()
    with pytest.raises(SubmissionUnavailable):
        await asyncio.wait_for(a, 10)
    assert world.store.exists(digest)  # B still needs it

    gate_b.set()
    dossier = await asyncio.wait_for(b, 10)
    assert working.started == [dossier.code]
    assert digest in world.documents_of(dossier.code)
    assert world.store.exists(digest)
    with world.store.open(digest) as fh:
        assert fh.read() == shared
    assert not claims_for(world.store).claimed(digest)  # B's request is over


async def test_a_refusal_keeps_bytes_another_request_in_flight_stored(world: World) -> None:
    """A stores X first (new) and is still receiving its second file, B stores X too
    and is still receiving its own; A's second file is refused: B keeps X."""
    shared = PDF_BYTES + b"%shared-refused"
    digest = sha(shared)
    gate_a, gate_b = asyncio.Event(), asyncio.Event()
    refused = Upload(PNG, "anh.png", gate=gate_a)  # a PNG does not fit the slot
    a = asyncio.create_task(world.submit(world.citizens[0], Temporal(fail=False),
                                         Upload(shared), refused))
    await asyncio.wait_for(refused.reached.wait(), 10)
    assert world.stored_row(digest) is not None  # new for A, listed by A

    slow = Upload(PDF_BYTES + b"%slow", "ho-khau.pdf", gate=gate_b)
    b = asyncio.create_task(world.submit(world.citizens[1], Temporal(fail=False),
                                         Upload(shared), slow))
    await asyncio.wait_for(slow.reached.wait(), 10)

    gate_a.set()
    with pytest.raises(SubmissionInvalid):
        await asyncio.wait_for(a, 10)
    assert world.store.exists(digest)

    gate_b.set()
    dossier = await asyncio.wait_for(b, 10)
    assert digest in world.documents_of(dossier.code)
    assert world.store.exists(digest)


# ---------------------------------------------------------------- the claims


def test_claims_are_taken_while_storing_and_released_with_the_lease(tmp_path: Path,
                                                                    db: Database) -> None:
    store = LocalDocumentStore(tmp_path / "docs")
    claims = claims_for(store)
    assert claims_for(LocalDocumentStore(tmp_path / "docs")) is claims  # same folder
    assert claims_for(LocalDocumentStore(tmp_path / "elsewhere")) is not claims

    with claims.lease() as first:
        ref = store.put_stream([PDF_BYTES + b"%claims"])
        record_stored(db, ref)
        assert claims.claimed(ref.sha256)
        assert not claims.claimed(ref.sha256, by_others_than=first)
        with claims.lease() as second:
            store.put_stream([PDF_BYTES + b"%claims"])  # the same bytes, another request
            assert claims.claimed(ref.sha256, by_others_than=first)
            assert discard_unreferenced(db, store, [ref.sha256]) == []  # first holds it
        assert claims.claimed(ref.sha256, by_others_than=second)  # first still does
        assert not claims.claimed(ref.sha256, by_others_than=first)  # second is over
    assert store.exists(ref.sha256)
    assert not claims.claimed(ref.sha256)

    with claims.lease() as last:
        store.put_stream([PDF_BYTES + b"%claims"])
        assert discard_unreferenced(db, store, [ref.sha256, ref.sha256]) == [ref.sha256]
    assert not store.exists(ref.sha256)
    with db.session() as session:
        assert session.get(StoredDocument, ref.sha256) is None
    assert last.own == {}


def test_a_held_claim_outlives_its_lease(tmp_path: Path, db: Database) -> None:
    store = LocalDocumentStore(tmp_path / "docs")
    claims = claims_for(store)
    with claims.lease() as lease:
        ref = store.put_stream([PDF_BYTES + b"%held"])
        lease.hold(3600)
    assert claims.claimed(ref.sha256)
    assert discard_unreferenced(db, store, [ref.sha256]) == []
    assert store.exists(ref.sha256)
