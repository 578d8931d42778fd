"""Content-addressed document store.

A document's name is the sha256 of its bytes: ``<root>/ab/cd/<sha256>``. Writes
stream through a temporary file in ``<root>/.tmp`` (same file system) while the
digest, the size and the media type are computed, then the file is linked into
place atomically; an existing file is never overwritten (same name, same bytes).
Nothing is buffered whole in memory; a size limit is enforced while streaming.

``StoredDocument`` rows index what the store holds; ``sweep`` removes files no
dossier or citizen document refers to once a grace period has passed (an upload
becomes referenced when its dossier is submitted).

A failed request removes the files it stored at once with ``discard_unreferenced``,
but the same bytes are the same file for every request: it keeps a file that a
``DossierDocument`` or ``CitizenDocument`` row refers to, or that another request of
this process has stored and not finished with (``DocumentClaims``).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import os
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol

import anyio
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from dichvucong.db.engine import Database
from dichvucong.db.models import CitizenDocument, DossierDocument, StoredDocument
from dichvucong.documents.media import (
    DEFAULT_ALLOWED,
    JPEG,
    PDF,
    PDF_ACTIVE,
    PNG,
    SNIFF_BYTES,
    EmptyDocument,
    PdfActiveContentScanner,
    UnsafeDocument,
    check_image,
    check_pdf_streams,
    sniff_media_type,
)
from dichvucong.settings import Settings

log = logging.getLogger("dichvucong.documents")

CHUNK = 64 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StoredRef:
    sha256: str
    size: int
    media_type: str


class DocumentTooLarge(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"Tệp vượt quá dung lượng cho phép ({limit // (1024 * 1024)} MB).")
        self.limit = limit


class DocumentNotFound(KeyError):
    pass


def check_sha256(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise ValueError("not a sha256 hex digest")
    return sha256


class DocumentStore(Protocol):
    def put_stream(self, source: Iterable[bytes] | IO[bytes], *,
                   max_bytes: int | None = None) -> StoredRef: ...

    async def aput_stream(self, source: AsyncIterable[bytes] | Any, *,
                          max_bytes: int | None = None) -> StoredRef: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> bool: ...

    def list_all(self) -> Iterator[tuple[str, datetime]]: ...

    def check(self) -> None:
        """Raises unless the store can take a document now (readiness probe)."""
        ...


class _Spool:
    """Receives chunks: hashes, counts, sniffs and writes them to a temporary file."""

    def __init__(self, tmp_dir: Path, limit: int, allowed: frozenset[str]) -> None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="up-")
        self.path = Path(name)
        self.file = os.fdopen(fd, "wb")
        self.digest = hashlib.sha256()
        self.size = 0
        self.limit = limit
        self.allowed = allowed
        self.head = b""
        self.media_type: str | None = None
        self.pdf_scan = PdfActiveContentScanner()

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        if self.size > self.limit:
            raise DocumentTooLarge(self.limit)
        if self.media_type is None:
            self.head += chunk[:SNIFF_BYTES]
            if len(self.head) >= SNIFF_BYTES:
                self.media_type = sniff_media_type(self.head, self.allowed)
        self.pdf_scan.feed(chunk)
        if self.media_type == PDF and self.pdf_scan.found:
            raise UnsafeDocument(PDF_ACTIVE)
        self.digest.update(chunk)
        self.file.write(chunk)

    def close(self) -> tuple[str, str]:
        if self.size == 0:
            raise EmptyDocument()
        if self.media_type is None:  # shorter than the longest magic number
            self.media_type = sniff_media_type(self.head, self.allowed)
        self.pdf_scan.close()
        if self.media_type == PDF and self.pdf_scan.found:
            raise UnsafeDocument(PDF_ACTIVE)
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        if self.media_type == PDF:
            check_pdf_streams(self.path)
        sha256 = self.digest.hexdigest()
        # Claimed before the store links (or uploads) it: a concurrent discard of the
        # same bytes either sees the claim or has deleted the file before it is linked.
        lease = _LEASE.get()
        if lease is not None:
            lease.claim(sha256)
        return sha256, self.media_type

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.file.close()
        self.path.unlink(missing_ok=True)


def _read_chunks(source: Iterable[bytes] | IO[bytes]) -> Iterator[bytes]:
    read = getattr(source, "read", None)
    if callable(read):
        while chunk := read(CHUNK):
            yield chunk
    else:
        yield from source  # type: ignore[misc]


async def _aread_chunks(source: AsyncIterable[bytes] | Any) -> AsyncIterator[bytes]:
    """``request.stream()``, or an object with an async ``read(n)`` (``UploadFile``)."""
    read = getattr(source, "read", None)
    if callable(read):
        while chunk := await read(CHUNK):
            yield chunk
    else:
        async for chunk in source:
            yield chunk


async def _aspool(spool: _Spool, source: AsyncIterable[bytes] | Any) -> _Spool:
    """Feed ``source`` into ``spool`` on the event loop (small writes); a failure
    removes the temporary file."""
    try:
        async for chunk in _aread_chunks(source):
            spool.feed(chunk)
    except BaseException:
        spool.discard()
        raise
    return spool


class LocalDocumentStore:
    def __init__(self, root: Path, max_bytes: int = 10 * 1024 * 1024,
                 allowed: Iterable[str] = DEFAULT_ALLOWED,
                 max_image_pixels: int = 40_000_000) -> None:
        self.root = Path(root)
        self.max_image_pixels = max_image_pixels
        self.max_bytes = max_bytes
        self.allowed = frozenset(allowed)
        self._tmp = self.root / ".tmp"

    def path_for(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    # ------------------------------------------------------------- writing

    def _spool(self, max_bytes: int | None) -> _Spool:
        limit = self.max_bytes if max_bytes is None else min(max_bytes, self.max_bytes)
        return _Spool(self._tmp, limit, self.allowed)

    def _commit(self, spool: _Spool) -> StoredRef:
        sha256, media_type = spool.close()
        if media_type in (JPEG, PNG):  # before it becomes visible; a refusal stores nothing
            check_image(spool.path, media_type, self.max_image_pixels)
        final = self.path_for(sha256)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(spool.path, final)  # atomic, and fails rather than overwrite
                os.chmod(final, 0o444)
            except FileExistsError:
                pass  # the same bytes are already stored
            except OSError:
                if not final.exists():  # file systems without hard links
                    os.replace(spool.path, final)
        finally:
            spool.path.unlink(missing_ok=True)
        return StoredRef(sha256, spool.size, media_type)

    def put_stream(self, source: Iterable[bytes] | IO[bytes], *,
                   max_bytes: int | None = None) -> StoredRef:
        """Store chunks (an iterable of bytes, or a binary file object read in chunks)."""
        spool = self._spool(max_bytes)
        try:
            for chunk in _read_chunks(source):
                spool.feed(chunk)
            return self._commit(spool)
        except BaseException:
            spool.discard()
            raise

    async def aput_stream(self, source: AsyncIterable[bytes] | Any, *,
                          max_bytes: int | None = None) -> StoredRef:
        """Store from an async source: ``request.stream()``, or an object with an async
        ``read(n)`` such as FastAPI's ``UploadFile``. The chunks are spooled on the event
        loop (small writes); the fsync, the scan of the PDF's streams and the image
        check run in a worker thread (waited for even on cancellation, so the temporary
        file is always removed), as in the S3 store."""
        spool = await _aspool(self._spool(max_bytes), source)
        return await anyio.to_thread.run_sync(self._committed, spool)

    def _committed(self, spool: _Spool) -> StoredRef:
        try:
            return self._commit(spool)
        except BaseException:
            spool.discard()
            raise

    # ------------------------------------------------------------- reading

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path_for(sha256).open("rb")
        except FileNotFoundError as exc:
            raise DocumentNotFound(sha256) from exc

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)  # what the first upload would do
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(f"document store folder {self.root} is not writable")

    def delete(self, sha256: str) -> bool:
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def list_all(self) -> Iterator[tuple[str, datetime]]:
        """Every stored document with its modification time."""
        if not self.root.exists():
            return
        for path in self.root.glob("??/??/*"):
            if _SHA256.match(path.name):
                yield path.name, datetime.fromtimestamp(path.stat().st_mtime, UTC)


# ------------------------------------------------------- in-flight claims


class Lease:
    """The documents one request has stored (claimed) and not finished with."""

    def __init__(self, claims: DocumentClaims) -> None:
        self.claims = claims
        self.own: Counter[str] = Counter()
        self.hold_seconds = 0.0

    def claim(self, sha256: str) -> None:
        self.claims._claim(self, check_sha256(sha256))

    def hold(self, seconds: float) -> None:
        """Keep the claims that many seconds after the lease ends: for documents the
        caller (or a workflow) may still come to reference."""
        self.hold_seconds = max(self.hold_seconds, seconds)


class DocumentClaims:
    """Per-process claims on the documents of one store by requests in flight.

    A request stores its uploads inside ``lease()``: each document stored while it is
    open (in its task, or in a worker thread the task calls) is claimed as soon as its
    digest is known, before the store links it into place, and released when the
    lease ends. ``discard`` checks the claims and deletes under the same lock, so a
    concurrent store of the same bytes has either claimed them (the file stays) or
    links the file again after it was deleted.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._held: dict[str, float] = {}  # sha256 -> time.monotonic() deadline

    @contextlib.contextmanager
    def lease(self) -> Iterator[Lease]:
        lease = Lease(self)
        token = _LEASE.set(lease)
        try:
            yield lease
        finally:
            with contextlib.suppress(ValueError):  # exited in another context
                _LEASE.reset(token)
            self._release(lease)

    def claimed(self, sha256: str, by_others_than: Lease | None = None) -> bool:
        """True if a lease other than ``by_others_than`` claims (or holds) ``sha256``."""
        with self._lock:
            return self._claimed(sha256, by_others_than)

    def _claim(self, lease: Lease, sha256: str) -> None:
        with self._lock:
            self._counts[sha256] += 1
            lease.own[sha256] += 1

    def _release(self, lease: Lease) -> None:
        with self._lock:
            now = time.monotonic()
            self._held = {k: v for k, v in self._held.items() if v > now}
            for sha256, n in lease.own.items():
                left = self._counts[sha256] - n
                if left > 0:
                    self._counts[sha256] = left
                else:
                    del self._counts[sha256]
                if lease.hold_seconds > 0:
                    until = now + lease.hold_seconds
                    self._held[sha256] = max(until, self._held.get(sha256, until))
            lease.own.clear()

    def _claimed(self, sha256: str, lease: Lease | None) -> bool:
        mine = lease.own[sha256] if lease is not None and lease.claims is self else 0
        if self._counts[sha256] - mine > 0:
            return True
        return self._held.get(sha256, 0.0) > time.monotonic()

    def discard(self, db: Database, store: DocumentStore, digests: Iterable[str],
                lease: Lease | None = None) -> list[str]:
        """Delete each document (and its ``StoredDocument`` row) unless a lease other
        than ``lease`` claims it or a ``DossierDocument`` or ``CitizenDocument`` row
        refers to it. Returns the deleted digests; the others are left to ``sweep``."""
        removed: list[str] = []
        for sha256 in dict.fromkeys(digests):
            with self._lock:  # no claim of these bytes between the checks and the delete
                if self._claimed(sha256, lease):
                    continue
                with db.session() as session:
                    if _referenced(session, sha256):
                        continue
                    store.delete(sha256)
                    row = session.get(StoredDocument, sha256)
                    if row is not None:
                        session.delete(row)
                        session.commit()
            removed.append(sha256)
        return removed


_LEASE: contextvars.ContextVar[Lease | None] = contextvars.ContextVar(
    "dichvucong_document_lease", default=None)
_REGISTRY: dict[tuple[str, ...], DocumentClaims] = {}
_REGISTRY_LOCK = threading.Lock()


def _store_key(store: DocumentStore) -> tuple[str, ...]:
    """Where ``store`` keeps its documents: two store objects on the same folder or
    bucket share their claims."""
    root = getattr(store, "root", None)
    if root is not None:
        return ("local", str(Path(root).resolve()))
    bucket = getattr(store, "bucket", None)
    if bucket is not None:
        endpoint = getattr(getattr(getattr(store, "client", None), "meta", None),
                           "endpoint_url", None)
        return ("s3", str(endpoint or ""), str(bucket), str(getattr(store, "prefix", "")))
    return ("process",)  # unknown kind: one set of claims for all of them


def claims_for(store: DocumentStore) -> DocumentClaims:
    """The claims of this process on ``store``'s documents."""
    key = _store_key(store)
    with _REGISTRY_LOCK:
        claims = _REGISTRY.get(key)
        if claims is None:
            claims = _REGISTRY[key] = DocumentClaims()
        return claims


def current_lease() -> Lease | None:
    """The lease open in this task (or the task that called this worker thread)."""
    return _LEASE.get()


def discard_unreferenced(db: Database, store: DocumentStore,
                         digests: Iterable[str]) -> list[str]:
    """``DocumentClaims.discard`` on ``store``'s claims, for the lease open now."""
    return claims_for(store).discard(db, store, digests, current_lease())


def _referenced(session: Any, sha256: str) -> bool:
    for column in (DossierDocument.sha256, CitizenDocument.sha256):
        if session.exec(select(column).where(column == sha256).limit(1)).first() is not None:
            return True
    return False


# ----------------------------------------------------------------- the index


def record_stored(db: Database, ref: StoredRef) -> None:
    """Add the ``StoredDocument`` row of ``ref`` (nothing if it is there already)."""
    with db.session() as session:
        if session.get(StoredDocument, ref.sha256) is not None:
            return
        session.add(StoredDocument(sha256=ref.sha256, size=ref.size, media_type=ref.media_type))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()


def sweep(db: Database, store: DocumentStore, older_than: timedelta,
          now: datetime | None = None) -> list[str]:
    """Delete documents no ``DossierDocument`` or ``CitizenDocument`` refers to and
    that were stored more than ``older_than`` ago. Returns the removed digests."""
    now = now or datetime.now(UTC)
    cutoff = now - older_than
    with db.session() as session:
        referenced = set(session.exec(select(DossierDocument.sha256)).all())
        referenced |= set(session.exec(select(CitizenDocument.sha256)).all())
        rows = {r.sha256: r for r in session.exec(select(StoredDocument)).all()}
    removed: list[str] = []
    on_disk = dict(store.list_all())
    for sha256 in sorted(set(on_disk) | set(rows)):
        if sha256 in referenced:
            continue
        row = rows.get(sha256)
        stored_at = (row.created_at if row is not None and row.created_at else on_disk[sha256])
        if stored_at > cutoff:
            continue
        store.delete(sha256)
        if row is not None:
            with db.session() as session:
                current = session.get(StoredDocument, sha256)
                if current is not None:
                    session.delete(current)
                    session.commit()
        removed.append(sha256)
    if removed:
        log.info("documents_swept count=%d", len(removed))
    return removed


def build_document_store(settings: Settings) -> DocumentStore:
    """The backend ``settings.document_store`` names: "local" (a folder, default) or
    "s3" (a bucket of an S3-compatible object store, ``dichvucong.documents.s3``)."""
    kind = settings.document_store
    max_image_pixels = settings.max_image_pixels
    if kind == "s3":
        if not settings.s3_bucket:
            raise ValueError("DVC_DOCUMENT_STORE=s3 needs DVC_S3_BUCKET (the bucket's name)")
        from dichvucong.documents.s3 import S3DocumentStore

        return S3DocumentStore(
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            max_bytes=settings.max_file_bytes,
            max_image_pixels=max_image_pixels,
            tmp_dir=settings.var_dir / "upload-spool",
        )
    if kind != "local":
        raise ValueError(f"document store {kind!r} is not available ('local' or 's3')")
    return LocalDocumentStore(
        settings.resolved_documents_dir,
        settings.max_file_bytes,
        max_image_pixels=max_image_pixels,
    )
