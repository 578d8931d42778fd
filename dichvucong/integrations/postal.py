"""Client of the public postal service (shipment of results).

Protocol (JSON over HTTPS, signed with the check field of ``signing``):

- ``POST {base}/shipments`` with header ``Idempotency-Key`` and body
  {idempotency_key, dossier_code, recipient, address, phone, documents, check}
  -> 201/200 {tracking_number, idempotency_key, created_at, status, check}.
  The same key returns the same shipment (200), never a second parcel.
- webhook to the portal: ``POST <portal>/api/v1/postal/callback``
  {event_id, tracking_number, dossier_code, status, note, at, check};
  status is picked_up | delivered | returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from dichvucong.activities.contracts import Shipment
from dichvucong.integrations import http as outside
from dichvucong.integrations import signing
from dichvucong.workflows.messages import DocumentRef


class PostalError(Exception):
    """Unreachable or nonsensical answer: worth retrying."""


class PostalRejected(PostalError):
    """The postal service refused the shipment (bad address...): retrying will not help."""


class PostalClient:
    def __init__(self, base_url: str, secret: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self._timeout = timeout

    def create_shipment(self, idempotency_key: str, recipient: str, address: str, phone: str,
                        dossier_code: str,
                        documents: Sequence[DocumentRef | Mapping[str, Any]] = ()) -> Shipment:
        body = signing.sign({
            "idempotency_key": idempotency_key, "dossier_code": dossier_code,
            "recipient": recipient, "address": address, "phone": phone,
            "documents": [_doc(d) for d in documents],
        }, signing.SHIPMENT_FIELDS, self._secret)
        try:
            response = outside.post(f"{self.base_url}/shipments", json=body,
                                    headers={"Idempotency-Key": idempotency_key},
                                    timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise PostalError(f"postal service unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise PostalError(f"postal service answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PostalRejected(f"postal service refused the shipment (HTTP "
                                 f"{response.status_code}): {response.text[:200]}")
        try:
            data = response.json()
        except ValueError as exc:
            raise PostalError("postal service answered something that is not JSON") from exc
        if (not signing.verify(data, signing.SHIPMENT_REPLY_FIELDS, self._secret)
                or data.get("idempotency_key") != idempotency_key):
            raise PostalError("postal reply carries a wrong check field")
        return Shipment(tracking_number=str(data["tracking_number"]),
                        created_at=datetime.fromisoformat(data["created_at"]))

    def verify_callback(self, payload: Mapping[str, Any]) -> bool:
        return signing.verify(payload, signing.POSTAL_CALLBACK_FIELDS, self._secret)


def _doc(doc: DocumentRef | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(doc, DocumentRef):
        return {"sha256": doc.sha256, "size": doc.size, "media_type": doc.media_type,
                "name": doc.name or doc.slot}
    return dict(doc)
