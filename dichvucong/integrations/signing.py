"""The check field of the payment platform and the postal webhooks.

``check = sha256_hex("f1|f2|...|fn|secret")``: the listed fields, in a fixed
order, joined with ``|``, the shared secret appended as the last part. Each
message type names its fields once (the ``*_FIELDS`` tuples) so both sides
sign and verify the same string. Verification compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

CHECK = "check"

# Payment platform (merchant <-> gateway)
INIT_FIELDS = ("merchant_code", "reference", "dossier_code", "amount", "return_url")
INIT_REPLY_FIELDS = ("code", "reference", "payment_url")
QUERY_FIELDS = ("merchant_code", "reference")
QUERY_REPLY_FIELDS = ("code", "reference", "status", "amount", "transaction_id")
REFUND_FIELDS = ("merchant_code", "reference", "amount", "idempotency_key")
REFUND_REPLY_FIELDS = ("code", "reference", "refund_ref", "status")
PAYMENT_CALLBACK_FIELDS = (
    "merchant_code", "reference", "dossier_code", "amount", "transaction_id", "code", "status",
)

# Postal service
SHIPMENT_FIELDS = ("idempotency_key", "dossier_code", "recipient", "address", "phone")
SHIPMENT_REPLY_FIELDS = ("tracking_number", "idempotency_key", "created_at")
POSTAL_CALLBACK_FIELDS = ("event_id", "tracking_number", "dossier_code", "status")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def check_value(values: Sequence[Any], secret: str) -> str:
    joined = "|".join([*(_text(v) for v in values), secret])
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def sign(payload: Mapping[str, Any], fields: Sequence[str], secret: str) -> dict[str, Any]:
    """A copy of ``payload`` with its check field set."""
    signed = dict(payload)
    signed[CHECK] = check_value([payload.get(f) for f in fields], secret)
    return signed


def verify(payload: Mapping[str, Any], fields: Sequence[str], secret: str) -> bool:
    given = payload.get(CHECK)
    if not isinstance(given, str) or not given:
        return False
    expected = check_value([payload.get(f) for f in fields], secret)
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("ascii",
                                                                                      "replace"))
