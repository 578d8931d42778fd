"""Content-addressed document store on an S3-compatible object store (AWS S3,
MinIO, Ceph RGW...).

The object key of a document is ``<prefix>/ab/cd/<sha256>``. Writes go through the
same ``_Spool`` as the local store: chunks are hashed, counted against the size
limit, sniffed and scanned for active content while they are written to a local
temporary file, so nothing is uploaded unless the whole content was accepted.
The finished file is then uploaded with ``upload_file`` (multipart above the
transfer threshold) with its sniffed ``ContentType``. An existing object is never
overwritten: its key is its digest, so it already holds the same bytes.

Reads stream the object body (``open`` returns botocore's ``StreamingBody``, read
with ``read(n)``); nothing is buffered whole in memory either way.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import anyio.to_thread
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from dichvucong.documents.media import DEFAULT_ALLOWED, JPEG, PNG, check_image
from dichvucong.documents.store import (
    _SHA256,
    DocumentNotFound,
    StoredRef,
    _aspool,
    _read_chunks,
    _Spool,
    check_sha256,
)

_MISSING = {"404", "NoSuchKey", "NotFound"}


def _missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code")) in _MISSING or status == 404


class S3DocumentStore:
    """The ``DocumentStore`` protocol on one bucket (under ``prefix``)."""

    list_page_size = 1000  # keys per ListObjectsV2 call (S3's maximum)

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "documents",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        max_bytes: int = 10 * 1024 * 1024,
        allowed: Iterable[str] = DEFAULT_ALLOWED,
        max_image_pixels: int = 40_000_000,
        tmp_dir: Path | None = None,
        transfer_config: TransferConfig | None = None,
        client: Any = None,
    ) -> None:
        if not bucket:
            raise ValueError("the S3 document store needs a bucket")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.max_bytes = max_bytes
        self.allowed = frozenset(allowed)
        self.max_image_pixels = max_image_pixels
        self._tmp = Path(tmp_dir) if tmp_dir else Path(tempfile.gettempdir()) / "dichvucong-spool"
        self.transfer_config = transfer_config or TransferConfig()
        if client is None:
            # S3-compatible servers (MinIO...) are addressed by path, not by a
            # bucket subdomain; AWS itself (no endpoint) picks its own style.
            # A download holds its connection while the response streams: room for
            # as many as the server's thread pool runs at once (AnyIO's default 40).
            config = Config(
                retries={"mode": "standard", "max_attempts": 5},
                max_pool_connections=50,
                s3={"addressing_style": "path"} if endpoint_url else None,
            )
            # Credentials left as None: boto3's default chain (env, profile, IAM role).
            session = boto3.session.Session(
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                region_name=region,
            )
            client = session.client("s3", endpoint_url=endpoint_url, config=config)
        self.client = client  # boto3 clients are thread-safe (sessions are not)

    def key_for(self, sha256: str) -> str:
        check_sha256(sha256)
        name = f"{sha256[:2]}/{sha256[2:4]}/{sha256}"
        return f"{self.prefix}/{name}" if self.prefix else name

    # ------------------------------------------------------------- writing

    def _spool(self, max_bytes: int | None) -> _Spool:
        limit = self.max_bytes if max_bytes is None else min(max_bytes, self.max_bytes)
        return _Spool(self._tmp, limit, self.allowed)

    def _commit(self, spool: _Spool) -> StoredRef:
        """Upload the finished spool (unless the object exists); always removes it."""
        try:
            sha256, media_type = spool.close()
            if media_type in (JPEG, PNG):  # before it becomes visible; a refusal stores nothing
                check_image(spool.path, media_type, self.max_image_pixels)
            if not self.exists(sha256):  # same key, same bytes: never overwritten
                self.client.upload_file(
                    str(spool.path),
                    self.bucket,
                    self.key_for(sha256),
                    ExtraArgs={"ContentType": media_type},
                    Config=self.transfer_config,
                )
            return StoredRef(sha256, spool.size, media_type)
        finally:
            spool.discard()

    def put_stream(
        self, source: Iterable[bytes] | IO[bytes], *, max_bytes: int | None = None
    ) -> StoredRef:
        """Store chunks (an iterable of bytes, or a binary file object read in chunks)."""
        spool = self._spool(max_bytes)
        try:
            for chunk in _read_chunks(source):
                spool.feed(chunk)
        except BaseException:
            spool.discard()
            raise
        return self._commit(spool)

    async def aput_stream(
        self, source: AsyncIterable[bytes] | Any, *, max_bytes: int | None = None
    ) -> StoredRef:
        """Store from an async source (``request.stream()`` or an ``UploadFile``). The
        chunks are spooled on the event loop; the image check and the upload run in
        a worker thread that is waited for even on cancellation, so the temporary
        file is always removed."""
        spool = await _aspool(self._spool(max_bytes), source)
        return await anyio.to_thread.run_sync(self._commit, spool)

    # ------------------------------------------------------------- reading

    def open(self, sha256: str) -> BinaryIO:
        """A streaming body (``read(n)``, ``close()``, usable in ``with``)."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key_for(sha256))
        except ClientError as exc:
            if _missing(exc):
                raise DocumentNotFound(sha256) from exc
            raise
        return cast(BinaryIO, response["Body"])

    def exists(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key_for(sha256))
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    def delete(self, sha256: str) -> bool:
        """Remove the object; False if there was none (S3 deletes are idempotent,
        so this asks first)."""
        if not self.exists(sha256):
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self.key_for(sha256))
        return True

    def list_all(self) -> Iterator[tuple[str, datetime]]:
        """Every stored document with its upload time (``LastModified``)."""
        start = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket, Prefix=start, PaginationConfig={"PageSize": self.list_page_size}
        )
        for page in pages:
            for obj in page.get("Contents", ()):
                parts = obj["Key"][len(start) :].split("/")
                if len(parts) != 3:
                    continue
                first, second, sha256 = parts
                if _SHA256.match(sha256) and (first, second) == (sha256[:2], sha256[2:4]):
                    modified = obj["LastModified"]
                    if modified.tzinfo is None:
                        modified = modified.replace(tzinfo=UTC)
                    yield sha256, modified

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
