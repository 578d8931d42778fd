"""Reporting transitions to the National Public Service Portal."""

from __future__ import annotations

from typing import Protocol

from temporalio import activity
from temporalio.exceptions import ApplicationError

from dichvucong.activities.contracts import NationalSyncRequest, NationalSyncResult
from dichvucong.integrations.national import NationalCredentialsRefused


class NationalPortalClient(Protocol):
    def sync(self, request: NationalSyncRequest) -> NationalSyncResult: ...


class NationalSyncActivities:
    """``client`` None means the national sync is switched off in settings: every
    transition is answered "skipped" at once, so cases never wait on it."""

    def __init__(self, client: NationalPortalClient | None) -> None:
        self._client = client

    @activity.defn(name="sync_national")
    def sync_national(self, request: NationalSyncRequest) -> NationalSyncResult:
        if self._client is None:
            return NationalSyncResult(status="skipped", reason="national sync disabled")
        try:
            return self._client.sync(request)
        except NationalCredentialsRefused as exc:
            raise ApplicationError(
                str(exc), type="NationalCredentialsRefused", non_retryable=True
            ) from exc
