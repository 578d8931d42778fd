"""Activity that ships a result by post: one shipment per idempotency key (the
workflow's ``<code>:ship:<attempt>``), so a retried or crashed activity never
sends a second parcel."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from dichvucong.activities.contracts import Shipment, ShipmentRequest
from dichvucong.db.engine import Database
from dichvucong.db.models import CitizenAccount, Dossier
from dichvucong.integrations.postal import PostalClient, PostalRejected


class PostalActivities:
    def __init__(self, postal: PostalClient, db: Database | None = None) -> None:
        self._postal = postal
        self._db = db

    def _recipient(self, request: ShipmentRequest) -> tuple[str, str]:
        """Name and phone of the addressee, read from the read model (never from
        the workflow's history, which carries no personal data it can avoid)."""
        if self._db is None:
            return "", ""
        with self._db.session() as session:
            if request.applicant_id is not None:
                citizen = session.get(CitizenAccount, request.applicant_id)
                if citizen is not None:
                    return citizen.full_name, citizen.phone
            dossier = session.get(Dossier, request.dossier_code)
            if dossier is not None:
                phone = str((dossier.form_data or {}).get("phone", "") or "")
                return dossier.applicant_name, phone
        return "", ""

    @activity.defn(name="dispatch_result")
    def dispatch_result(self, request: ShipmentRequest) -> Shipment:
        if not request.address.strip():
            raise ApplicationError("no delivery address", type="NoAddress", non_retryable=True)
        name, phone = self._recipient(request)
        try:
            return self._postal.create_shipment(
                request.idempotency_key,
                name,
                request.address,
                phone,
                request.dossier_code,
                request.documents,
            )
        except PostalRejected as exc:
            raise ApplicationError(str(exc), type="PostalRejected", non_retryable=True) from exc
