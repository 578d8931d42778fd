"""The content-addressed local document store."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from dichvucong.db.engine import Database
from dichvucong.db.models import (
    CitizenAccount,
    CitizenDocument,
    Dossier,
    DossierDocument,
    StoredDocument,
)
from dichvucong.documents import (
    DocumentTooLarge,
    LocalDocumentStore,
    UnsupportedMediaType,
    build_document_store,
    record_stored,
    sniff_media_type,
    sweep,
)
from dichvucong.settings import Settings
from tests.documents.samples import (
    JPEG,
    PDF,
    PNG,
    check_async_sources,
    check_file_like_sources_and_tiny_chunks,
    chunks,
)


@pytest.fixture
def store(tmp_path: Path) -> LocalDocumentStore:
    return LocalDocumentStore(tmp_path / "docs", max_bytes=1024 * 1024)


def test_put_stream_is_content_addressed(store: LocalDocumentStore) -> None:
    ref = store.put_stream(chunks(PDF))
    sha = hashlib.sha256(PDF).hexdigest()
    assert (ref.sha256, ref.size, ref.media_type) == (sha, len(PDF), "application/pdf")
    path = store.root / sha[:2] / sha[2:4] / sha
    assert path.read_bytes() == PDF
    assert store.exists(sha)
    with store.open(sha) as fh:
        assert fh.read() == PDF
    assert list(store.root.joinpath(".tmp").iterdir()) == []  # nothing left behind


def test_file_like_sources_and_tiny_chunks(store: LocalDocumentStore) -> None:
    check_file_like_sources_and_tiny_chunks(store)


async def test_async_sources(store: LocalDocumentStore) -> None:
    await check_async_sources(store)


def test_never_overwritten(store: LocalDocumentStore) -> None:
    ref = store.put_stream([PDF])
    path = store.path_for(ref.sha256)
    inode, mtime = path.stat().st_ino, path.stat().st_mtime_ns
    again = store.put_stream(chunks(PDF, 999))
    assert again == ref
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (inode, mtime)
    assert not os.access(path, os.W_OK) or os.geteuid() == 0  # read-only (root ignores modes)


def test_size_limit_enforced_while_streaming(store: LocalDocumentStore) -> None:
    consumed = []

    def endless() -> Iterator[bytes]:
        yield b"%PDF-1.4\n"
        while True:
            consumed.append(1)
            yield b"0" * 65536

    with pytest.raises(DocumentTooLarge):
        store.put_stream(endless())
    assert len(consumed) <= 17  # stopped right after the limit, never read it all
    assert list(store.root.joinpath(".tmp").iterdir()) == []
    assert list(store.list_all()) == []
    with pytest.raises(DocumentTooLarge):
        store.put_stream([PDF], max_bytes=1000)  # a smaller per-call limit


def test_media_type_is_sniffed_from_content_not_name(store: LocalDocumentStore) -> None:
    for refused in (b"MZ\x90\x00 not a pdf", b"<html>%PDF-</html>", b"", b"%PD"):
        with pytest.raises(UnsupportedMediaType):
            store.put_stream([refused])
    assert list(store.root.joinpath(".tmp").iterdir()) == []
    assert sniff_media_type(b"%PDF-1.3") == "application/pdf"
    with pytest.raises(UnsupportedMediaType):
        sniff_media_type(PNG, allowed={"application/pdf"})


def test_bad_digests_are_refused(store: LocalDocumentStore) -> None:
    with pytest.raises(ValueError):
        store.open("../../etc/passwd")
    assert store.delete("0" * 64) is False


def test_sweep_removes_only_old_unreferenced_documents(
        store: LocalDocumentStore, db: Database) -> None:
    kept_dossier = store.put_stream([PDF])
    kept_citizen = store.put_stream([JPEG])
    orphan_old = store.put_stream([PNG])
    orphan_new = store.put_stream([PDF + b"new"])
    for ref in (kept_dossier, kept_citizen, orphan_old, orphan_new):
        record_stored(db, ref)
    record_stored(db, kept_dossier)  # recorded twice: one row
    long_ago = datetime.now(UTC) - timedelta(days=3)
    with db.session() as session:
        citizen = CitizenAccount(full_name="Lê Văn Tám", id_number="075090000001",
                                 date_of_birth=date(1990, 1, 1), phone="0900000001",
                                 address="Đồng Nai", password_hash="x")
        session.add(citizen)
        session.add(Dossier(code="D-1", procedure_code="P", agency_code="A"))
        session.commit()
        session.add(DossierDocument(dossier_code="D-1", kind="submitted", slot="don",
                                    name="don.pdf", media_type=kept_dossier.media_type,
                                    size=kept_dossier.size, sha256=kept_dossier.sha256))
        session.add(CitizenDocument(owner_id=citizen.id, sha256=kept_citizen.sha256,
                                    name="cccd.jpg", media_type=kept_citizen.media_type,
                                    size=kept_citizen.size))
        for row in session.exec(select(StoredDocument)).all():
            if row.sha256 != orphan_new.sha256:
                row.created_at = long_ago
                session.add(row)
        session.commit()

    removed = sweep(db, store, older_than=timedelta(days=1))
    assert removed == [orphan_old.sha256]
    assert not store.exists(orphan_old.sha256)
    assert all(store.exists(r.sha256) for r in (kept_dossier, kept_citizen, orphan_new))
    with db.session() as session:
        assert session.get(StoredDocument, orphan_old.sha256) is None
        assert session.get(StoredDocument, orphan_new.sha256) is not None

    # a file without an index row is judged by its age on disk
    stray = store.put_stream([JPEG + b"stray"])
    assert sweep(db, store, timedelta(days=1)) == []
    later = datetime.now(UTC) + timedelta(days=2)
    assert sweep(db, store, timedelta(days=1), now=later) == sorted(
        [stray.sha256, orphan_new.sha256])


def test_build_document_store_from_settings(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, environment="test", max_file_bytes=123)
    built = build_document_store(settings)
    assert isinstance(built, LocalDocumentStore)
    assert (built.root, built.max_bytes) == (tmp_path / "documents", 123)


def test_readiness_check_makes_the_folder_and_fails_when_it_cannot(tmp_path: Path) -> None:
    fresh = LocalDocumentStore(tmp_path / "not-yet")
    fresh.check()  # what the first upload would do
    assert (tmp_path / "not-yet").is_dir()
    (tmp_path / "a-file").write_text("in the way")
    with pytest.raises(OSError):
        LocalDocumentStore(tmp_path / "a-file").check()
