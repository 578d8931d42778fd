"""The S3-compatible document store, against a real S3 API server: moto in server
mode on a loopback port (HTTP, signatures, multipart uploads, pagination)."""

from __future__ import annotations

import hashlib
import io
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer
from PIL import Image
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
    UnsupportedMediaType,
    build_document_store,
    record_stored,
    sweep,
)
from dichvucong.documents.media import UnsafeDocument
from dichvucong.documents.s3 import S3DocumentStore
from dichvucong.documents.store import DocumentNotFound
from dichvucong.settings import Settings
from tests.conftest import free_port
from tests.documents.samples import (
    JPEG,
    PDF,
    PNG,
    check_async_sources,
    check_file_like_sources_and_tiny_chunks,
    chunks,
)

ACTIVE_PDF = b"%PDF-1.7\n1 0 obj<< /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\n%%EOF"
CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _s3(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def bucket(endpoint: str) -> str:
    name = f"dvc-{uuid.uuid4().hex[:12]}"
    _s3(endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3(endpoint: str) -> Any:
    return _s3(endpoint)


@pytest.fixture
def store(endpoint: str, bucket: str, tmp_path: Path) -> Iterator[S3DocumentStore]:
    built = S3DocumentStore(
        bucket,
        endpoint_url=endpoint,
        max_bytes=1024 * 1024,
        tmp_dir=tmp_path / "spool",
        **CREDENTIALS,
    )
    yield built
    built.close()


def _keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def _spool_empty(store: S3DocumentStore) -> bool:
    return not store._tmp.exists() or list(store._tmp.iterdir()) == []


def test_put_stream_is_content_addressed(store: S3DocumentStore, s3: Any) -> None:
    ref = store.put_stream(chunks(PDF))
    sha = hashlib.sha256(PDF).hexdigest()
    assert (ref.sha256, ref.size, ref.media_type) == (sha, len(PDF), "application/pdf")
    key = f"documents/{sha[:2]}/{sha[2:4]}/{sha}"
    assert _keys(s3, store.bucket) == [key]
    head = s3.head_object(Bucket=store.bucket, Key=key)
    assert (head["ContentType"], head["ContentLength"]) == ("application/pdf", len(PDF))
    assert store.exists(sha)
    with store.open(sha) as fh:
        assert fh.read(10) == PDF[:10]  # streamed in pieces
        assert fh.read() == PDF[10:]
    assert _spool_empty(store)  # nothing left behind


def test_file_like_sources_and_tiny_chunks(store: S3DocumentStore) -> None:
    check_file_like_sources_and_tiny_chunks(store)


async def test_async_sources(store: S3DocumentStore) -> None:
    await check_async_sources(store)
    assert store.exists(hashlib.sha256(JPEG).hexdigest())
    assert _spool_empty(store)


def test_never_overwritten(store: S3DocumentStore, s3: Any) -> None:
    uploads: list[str] = []
    store.client.meta.events.register(
        "before-call.s3.PutObject", lambda **kw: uploads.append("put")
    )
    store.client.meta.events.register(
        "before-call.s3.CreateMultipartUpload", lambda **kw: uploads.append("multipart")
    )
    ref = store.put_stream([PDF])
    key = store.key_for(ref.sha256)
    before = s3.head_object(Bucket=store.bucket, Key=key)
    again = store.put_stream(chunks(PDF, 999))
    assert again == ref
    after = s3.head_object(Bucket=store.bucket, Key=key)
    assert uploads == ["put"]  # the second write found the object and uploaded nothing
    assert (after["ETag"], after["LastModified"]) == (before["ETag"], before["LastModified"])
    assert _spool_empty(store)


def test_large_files_go_up_in_parts(endpoint: str, bucket: str, tmp_path: Path, s3: Any) -> None:
    mib = 1024 * 1024
    store = S3DocumentStore(
        bucket,
        endpoint_url=endpoint,
        max_bytes=16 * mib,
        tmp_dir=tmp_path / "spool",
        transfer_config=TransferConfig(multipart_threshold=5 * mib, multipart_chunksize=5 * mib),
        **CREDENTIALS,
    )
    big = b"%PDF-1.7\n" + bytes(range(256)) * (6 * mib // 256) + b"\n%%EOF\n"
    ref = store.put_stream(io.BytesIO(big))
    head = s3.head_object(Bucket=bucket, Key=store.key_for(ref.sha256))
    assert head["ETag"].strip('"').endswith("-2")  # a multipart upload of two parts
    assert (head["ContentLength"], head["ContentType"]) == (len(big), "application/pdf")
    digest = hashlib.sha256()
    with store.open(ref.sha256) as fh:
        while chunk := fh.read(64 * 1024):
            digest.update(chunk)
    assert digest.hexdigest() == ref.sha256 == hashlib.sha256(big).hexdigest()
    assert _spool_empty(store)


def test_size_limit_enforced_while_streaming(store: S3DocumentStore, s3: Any) -> None:
    consumed = []

    def endless() -> Iterator[bytes]:
        yield b"%PDF-1.4\n"
        while True:
            consumed.append(1)
            yield b"0" * 65536

    with pytest.raises(DocumentTooLarge):
        store.put_stream(endless())
    assert len(consumed) <= 17  # stopped right after the limit, never read it all
    assert _spool_empty(store)
    assert list(store.list_all()) == []
    assert _keys(s3, store.bucket) == []  # nothing uploaded
    with pytest.raises(DocumentTooLarge):
        store.put_stream([PDF], max_bytes=1000)  # a smaller per-call limit
    assert _keys(s3, store.bucket) == []


def test_media_type_is_sniffed_from_content_not_name(store: S3DocumentStore, s3: Any) -> None:
    for refused in (b"MZ\x90\x00 not a pdf", b"<html>%PDF-</html>", b"", b"%PD"):
        with pytest.raises(UnsupportedMediaType):
            store.put_stream([refused])
    assert _spool_empty(store)
    assert _keys(s3, store.bucket) == []


async def test_unsafe_content_is_refused(store: S3DocumentStore, s3: Any) -> None:
    with pytest.raises(UnsafeDocument):
        store.put_stream(chunks(ACTIVE_PDF, size=7))  # names split across chunks
    with pytest.raises(UnsafeDocument):
        await store.aput_stream(_agen(ACTIVE_PDF))
    hidden = zlib.compress(b"<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>")
    compressed = b"%PDF-1.7\n1 0 obj<< /Filter /FlateDecode >>stream\n" + hidden
    with pytest.raises(UnsafeDocument):  # active content inside a compressed stream
        store.put_stream([compressed + b"\nendstream\nendobj\n%%EOF\n"])
    store.max_image_pixels = 1000  # a decompression bomb, in miniature
    picture = io.BytesIO()
    Image.new("RGB", (100, 100)).save(picture, format="PNG")
    with pytest.raises(UnsafeDocument):
        store.put_stream([picture.getvalue()])
    assert _spool_empty(store)
    assert _keys(s3, store.bucket) == []


async def _agen(data: bytes) -> Any:
    for chunk in chunks(data, size=16):
        yield chunk


def test_open_exists_delete_list_all(store: S3DocumentStore, s3: Any) -> None:
    missing = "0" * 64
    assert store.exists(missing) is False
    with pytest.raises(DocumentNotFound):
        store.open(missing)
    assert store.delete(missing) is False
    with pytest.raises(ValueError):
        store.open("../../etc/passwd")
    with pytest.raises(ValueError):
        store.exists("ABC")

    refs = [store.put_stream([data]) for data in (PDF, JPEG, PNG)]
    # Objects that are not documents of this store are ignored.
    sha = refs[0].sha256
    s3.put_object(Bucket=store.bucket, Key=f"other/{sha[:2]}/{sha[2:4]}/{sha}", Body=b"x")
    s3.put_object(Bucket=store.bucket, Key=f"documents/zz/zz/{sha}", Body=b"x")
    s3.put_object(Bucket=store.bucket, Key="documents/readme.txt", Body=b"x")
    listed = dict(store.list_all())
    assert set(listed) == {r.sha256 for r in refs}
    now = datetime.now(UTC)
    assert all(
        now - timedelta(minutes=5) < t <= now + timedelta(minutes=5) for t in listed.values()
    )

    assert store.delete(refs[1].sha256) is True
    assert store.exists(refs[1].sha256) is False
    assert store.delete(refs[1].sha256) is False
    assert set(dict(store.list_all())) == {refs[0].sha256, refs[2].sha256}


def test_list_all_pages_through_the_bucket(store: S3DocumentStore, s3: Any) -> None:
    pages: list[int] = []
    store.client.meta.events.register(
        "provide-client-params.s3.ListObjectsV2", lambda **kw: pages.append(kw["params"]["MaxKeys"])
    )
    store.list_page_size = 2
    shas = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(5)]
    for sha in shas:  # written directly: listing only looks at keys
        s3.put_object(Bucket=store.bucket, Key=store.key_for(sha), Body=b"%PDF-")
    assert sorted(sha for sha, _ in store.list_all()) == sorted(shas)
    assert pages == [2, 2, 2]  # followed the continuation tokens


def test_prefix_is_configurable(endpoint: str, bucket: str, tmp_path: Path, s3: Any) -> None:
    bare = S3DocumentStore(
        bucket, prefix="", endpoint_url=endpoint, tmp_dir=tmp_path / "a", **CREDENTIALS
    )
    nested = S3DocumentStore(
        bucket, prefix="/tenant/docs/", endpoint_url=endpoint, tmp_dir=tmp_path / "b", **CREDENTIALS
    )
    a, b = bare.put_stream([PDF]), nested.put_stream([JPEG])
    assert sorted(_keys(s3, bucket)) == sorted(
        [
            f"{a.sha256[:2]}/{a.sha256[2:4]}/{a.sha256}",
            f"tenant/docs/{b.sha256[:2]}/{b.sha256[2:4]}/{b.sha256}",
        ]
    )
    assert [sha for sha, _ in nested.list_all()] == [b.sha256]
    assert [sha for sha, _ in bare.list_all()] == [a.sha256]  # ignores tenant/docs/...


def test_sweep_removes_only_old_unreferenced_documents(
    store: S3DocumentStore, db: Database
) -> None:
    kept_dossier = store.put_stream([PDF])
    kept_citizen = store.put_stream([JPEG])
    orphan_old = store.put_stream([PNG])
    orphan_new = store.put_stream([PDF + b"new"])
    for ref in (kept_dossier, kept_citizen, orphan_old, orphan_new):
        record_stored(db, ref)
    long_ago = datetime.now(UTC) - timedelta(days=3)
    with db.session() as session:
        citizen = CitizenAccount(
            full_name="Lê Văn Tám",
            id_number="075090000001",
            date_of_birth=date(1990, 1, 1),
            phone="0900000001",
            address="Đồng Nai",
            password_hash="x",
        )
        session.add(citizen)
        session.add(Dossier(code="D-1", procedure_code="P", agency_code="A"))
        session.commit()
        session.add(
            DossierDocument(
                dossier_code="D-1",
                kind="submitted",
                slot="don",
                name="don.pdf",
                media_type=kept_dossier.media_type,
                size=kept_dossier.size,
                sha256=kept_dossier.sha256,
            )
        )
        session.add(
            CitizenDocument(
                owner_id=citizen.id,
                sha256=kept_citizen.sha256,
                name="cccd.jpg",
                media_type=kept_citizen.media_type,
                size=kept_citizen.size,
            )
        )
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

    # an object without an index row is judged by its LastModified
    stray = store.put_stream([JPEG + b"stray"])
    assert sweep(db, store, timedelta(days=1)) == []
    later = datetime.now(UTC) + timedelta(days=2)
    assert sweep(db, store, timedelta(days=1), now=later) == sorted(
        [stray.sha256, orphan_new.sha256]
    )
    assert set(dict(store.list_all())) == {kept_dossier.sha256, kept_citizen.sha256}


def test_build_document_store_from_settings(
    endpoint: str, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "DVC_DOCUMENT_STORE": "s3",
        "DVC_S3_ENDPOINT_URL": endpoint,
        "DVC_S3_BUCKET": bucket,
        "DVC_S3_PREFIX": "dossiers",
        "DVC_S3_ACCESS_KEY_ID": "testing",
        "DVC_S3_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings(var_dir=tmp_path, environment="test", max_file_bytes=123_456)
    built = build_document_store(settings)
    assert isinstance(built, S3DocumentStore)
    assert (built.bucket, built.prefix, built.max_bytes) == (bucket, "dossiers", 123_456)
    ref = built.put_stream([PNG])
    assert built.exists(ref.sha256) and not (tmp_path / "documents").exists()
    assert list((tmp_path / "upload-spool").iterdir()) == []

    monkeypatch.delenv("DVC_S3_BUCKET")
    with pytest.raises(ValueError, match="DVC_S3_BUCKET"):
        build_document_store(Settings(var_dir=tmp_path, environment="test"))


async def test_api_submission_stores_in_s3_and_downloads_back(
    endpoint: str, bucket: str, tmp_path: Path, s3: Any
) -> None:
    from tests.api.portal import PDF_BYTES, portal

    async with portal(
        tmp_path,
        document_store="s3",
        s3_endpoint_url=endpoint,
        s3_bucket=bucket,
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
    ) as p:
        await p.register()
        citizen = await p.login("075203001234")
        refused = await p.submit(
            citizen, files=[("giay_to_tuy_than", ("cccd.pdf", ACTIVE_PDF, "application/pdf"))]
        )
        assert refused.status_code == 422, refused.text
        assert _keys(s3, bucket) == []

        response = await p.submit(citizen)
        assert response.status_code == 201, response.text
        code = response.json()["dossier_code"]
        await p.settled(code)
        detail = (await p.http.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
        [doc] = detail["documents"]
        sha = hashlib.sha256(PDF_BYTES).hexdigest()
        assert doc["sha256"] == sha
        key = f"documents/{sha[:2]}/{sha[2:4]}/{sha}"
        assert _keys(s3, bucket) == [key]
        assert s3.head_object(Bucket=bucket, Key=key)["ContentType"] == "application/pdf"

        download = await p.http.get(f"/api/v1/dossiers/{code}/documents/{sha}", headers=citizen)
        assert download.status_code == 200, download.text
        assert download.content == PDF_BYTES
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["x-content-type-options"] == "nosniff"
    assert not (tmp_path / "documents").exists()  # nothing on the local disk
    assert list((tmp_path / "upload-spool").iterdir()) == []


def test_readiness_check_asks_for_the_bucket(store: S3DocumentStore, endpoint: str,
                                             tmp_path: Path) -> None:  # fmt: skip
    store.check()
    missing = S3DocumentStore("no-such-bucket", endpoint_url=endpoint, tmp_dir=tmp_path,
                              **CREDENTIALS)  # fmt: skip
    with pytest.raises(ClientError):
        missing.check()
    missing.close()
