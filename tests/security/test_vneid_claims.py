"""The VNeID ID token must be meant for us: issuer and audience are checked (Authlib
checks "aud" only when told to)."""

from __future__ import annotations

import time

import pytest
from authlib.oidc.core import CodeIDToken
from joserfc.errors import InvalidClaimError  # what Authlib's claims raise now

from dichvucong.accounts.vneid import VneidClient

ISSUER = "https://vneid.example/oidc"
CLIENT = VneidClient(ISSUER, "dvc-dongnai", "secret", "https://dvc.example/dang-nhap/vneid/callback")


def _validated(**claims: object) -> None:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "dvc-dongnai", "sub": "vneid-1", "nonce": "n", "iat": now,
            "exp": now + 600, **claims}  # fmt: skip
    # The claims as Authlib's parse_id_token checks them once the signature is verified.
    decoded = CodeIDToken(
        body,
        {"alg": "RS256"},
        options=CLIENT.claims_options({"issuer": ISSUER}),
        params={"nonce": "n", "client_id": "dvc-dongnai"},
    )
    decoded.validate()


def test_a_token_for_us_is_accepted() -> None:
    _validated()


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "another-portal", "azp": "dvc-dongnai"},
        {"aud": ["another-portal"]},
        {"iss": "https://elsewhere.example/oidc"},
    ],
)
def test_a_token_for_someone_else_is_refused(claims: dict[str, object]) -> None:
    with pytest.raises(InvalidClaimError):
        _validated(**claims)
