"""Identifiers derived from the dossier code (pure, deterministic)."""

from __future__ import annotations

import re
from datetime import timedelta

# The gateway stops taking a payment this long before the case stops expecting it: it
# must close no later than the case does (the moment is planned again outside the
# workflow, from the transition's event, a little after the workflow's own start).
GATEWAY_EXPIRY_MARGIN = timedelta(minutes=1)


def payment_reference(dossier_code: str) -> str:
    """The payment reference sent to the gateway: one per dossier, so a repeated
    INIT returns the same payment. Gateways accept only letters and digits."""
    return "DVC" + re.sub(r"[^0-9A-Z]", "", dossier_code.upper())
