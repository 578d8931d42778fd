"""Identifiers derived from the dossier code (pure, deterministic)."""

from __future__ import annotations

import re


def payment_reference(dossier_code: str) -> str:
    """The payment reference sent to the gateway: one per dossier, so a repeated
    INIT returns the same payment. Gateways accept only letters and digits."""
    return "DVC" + re.sub(r"[^0-9A-Z]", "", dossier_code.upper())
