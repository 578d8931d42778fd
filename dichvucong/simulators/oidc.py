"""Simulated VNeID OpenID Connect provider: the other side of ``accounts.vneid``.

Served under ``/_sim/oidc`` in development and tests. A real, if small, OIDC
provider (authorization code flow only):

- ``GET /.well-known/openid-configuration``: the discovery document;
- ``GET /jwks``: the public RSA key (generated at start-up) that signs ID tokens;
- ``GET /authorize``: checks client, redirect URI, response type, scope,
  ``state``, ``nonce`` and a PKCE S256 challenge, then shows a tiny login page
  where one picks a demo identity; ``POST /authorize`` redirects back with a code;
- ``POST /token``: client authentication (HTTP Basic or form), single-use code
  bound to client, redirect URI and PKCE verifier -> access token and an RS256
  ID token (iss, sub, aud, exp, iat, auth_time, nonce, at_hash and the
  identity's claims: ``personal_id`` (CCCD), name, birthdate, phone_number...);
- ``GET /userinfo``: the same claims for the access token.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from authlib.oidc.core.util import create_half_hash
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.jwk import RSAKey

from dichvucong.settings import Settings

DEMO_IDENTITIES: list[dict[str, Any]] = [
    {  # the seeded demo citizen (dichvucong.seed.DEMO_CITIZEN): signing in links to it
        "sub": "vneid-079203001234",
        "personal_id": "079203001234",
        "name": "Nguyễn Văn An",
        "birthdate": "2003-05-14",
        "phone_number": "0912345678",
        "email": "an.nguyen@example.vn",
        "address": "Số 12 đường Hà Huy Giáp, phường Quyết Thắng, thành phố Biên Hòa, tỉnh Đồng Nai",
    },
    {  # nobody has an account yet: the first sign-in creates one
        "sub": "vneid-075190000456",
        "personal_id": "075190000456",
        "name": "Trần Thị Bích Ngọc",
        "birthdate": "1990-08-21",
        "phone_number": "0987654321",
        "email": "ngoc.tran@example.vn",
        "address": "25 Phan Chu Trinh, phường Hòa Bình, thành phố Biên Hòa, tỉnh Đồng Nai",
    },
]
CODE_TTL = 120
TOKEN_TTL = 600


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str
    identity: dict[str, Any]
    expires: float


@dataclass
class OidcProviderSimulator:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    identities: list[dict[str, Any]] = field(default_factory=lambda: list(DEMO_IDENTITIES))
    codes: dict[str, _Grant] = field(default_factory=dict)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens_issued: int = 0

    def __post_init__(self) -> None:
        self.issuer = self.issuer.rstrip("/")
        self._key: RSAKey | None = None
        self.router = self._build_router()

    @property
    def key(self) -> RSAKey:
        """The signing key, made on first use (apps that never sign in pay nothing)."""
        if self._key is None:
            self._key = RSAKey.generate_key(
                2048,
                parameters={"kid": f"sim-{secrets.token_hex(4)}", "use": "sig", "alg": "RS256"},
            )
        return self._key

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcProviderSimulator:
        base = str(settings.public_base_url).rstrip("/")
        return cls(
            issuer=f"{base}/_sim/oidc",
            client_id=settings.vneid_client_id,
            client_secret=settings.vneid_client_secret,
            redirect_uris=[f"{base}/dang-nhap/vneid/callback"],
        )

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "phone", "address"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub",
                "name",
                "personal_id",
                "birthdate",
                "phone_number",
                "email",
                "address",
                "nonce",
                "auth_time",
            ],
        }

    def id_token(self, grant: _Grant, access_token: str) -> str:
        now = int(time.time())
        claims = {
            **grant.identity,
            "iss": self.issuer,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + TOKEN_TTL,
            "auth_time": now,
            "nonce": grant.nonce,
            "at_hash": create_half_hash(access_token, "RS256").decode(),
        }
        return jwt.encode({"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}, claims, self.key)

    # --- checks

    def _authorize_problem(self, params: dict[str, str]) -> str | None:
        if params.get("client_id") != self.client_id:
            return "unknown client_id"
        if params.get("redirect_uri") not in self.redirect_uris:
            return "redirect_uri is not registered"
        if params.get("response_type") != "code":
            return "response_type must be code"
        if "openid" not in params.get("scope", "").split():
            return "scope must include openid"
        for name in ("state", "nonce", "code_challenge"):
            if not params.get(name):
                return f"{name} is required"
        if params.get("code_challenge_method") != "S256":
            return "code_challenge_method must be S256"
        return None

    def _client_of(self, request: Request, form: dict[str, Any]) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return None
            from urllib.parse import unquote_plus

            user, password = unquote_plus(user), unquote_plus(password)
        else:
            user, password = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        if secrets.compare_digest(user, self.client_id) and secrets.compare_digest(
            password, self.client_secret
        ):
            return user
        return None

    def _build_router(self) -> APIRouter:
        router = APIRouter(tags=["simulator: VNeID (OIDC)"])
        keys = (
            "client_id",
            "redirect_uri",
            "response_type",
            "scope",
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method",
        )

        @router.get("/.well-known/openid-configuration")
        async def discovery() -> JSONResponse:
            return JSONResponse(self.metadata())

        @router.get("/jwks")
        async def jwks() -> JSONResponse:
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        @router.get("/authorize", response_class=HTMLResponse)
        async def authorize(request: Request) -> HTMLResponse:
            params = {k: request.query_params.get(k, "") for k in keys}
            problem = self._authorize_problem(params)
            if problem:
                return HTMLResponse(
                    f"<p>invalid_request: {html.escape(problem)}</p>", status_code=400
                )
            hidden = "".join(
                f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                for k, v in params.items()
            )
            choices = "".join(
                f'<li><button type="submit" name="identity" value="{i}">'
                f"{html.escape(p['name'])} — CCCD {html.escape(p['personal_id'])}</button></li>"
                for i, p in enumerate(self.identities)
            )
            return HTMLResponse(
                '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
                "<title>VNeID (mô phỏng) — Đăng nhập</title></head><body><main>"
                "<h1>Đăng nhập bằng tài khoản định danh điện tử (VNeID mô phỏng)</h1>"
                f'<form method="post" action="{self.issuer}/authorize">{hidden}'
                f"<p>Chọn danh tính thử nghiệm:</p><ul>{choices}</ul></form>"
                "</main></body></html>"
            )

        @router.post("/authorize", response_model=None)
        async def approve(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()}
            params = {k: form.get(k, "") for k in keys}
            problem = self._authorize_problem(params)
            index = form.get("identity", "")
            if problem or not index.isdigit() or int(index) >= len(self.identities):
                return HTMLResponse(
                    f"<p>invalid_request: {html.escape(problem or 'identity')}</p>", status_code=400
                )
            code = secrets.token_urlsafe(24)
            self.codes[code] = _Grant(
                params["client_id"],
                params["redirect_uri"],
                params["code_challenge"],
                params["nonce"],
                dict(self.identities[int(index)]),
                time.time() + CODE_TTL,
            )
            query = urlencode({"code": code, "state": params["state"]})
            return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=303)

        @router.post("/token")
        async def token(request: Request) -> JSONResponse:
            form = {k: str(v) for k, v in (await request.form()).items()}
            client = self._client_of(request, form)
            if client is None:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            if form.get("grant_type") != "authorization_code":
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            grant = self.codes.pop(form.get("code", ""), None)  # single use
            if grant is None or grant.expires < time.time() or grant.client_id != client:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if form.get("redirect_uri") != grant.redirect_uri:
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "redirect_uri"}, status_code=400
                )
            verifier = form.get("code_verifier", "")
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .rstrip(b"=")
                .decode()
            )
            if not verifier or not secrets.compare_digest(challenge, grant.code_challenge):
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "PKCE verification failed"},
                    status_code=400,
                )
            access = secrets.token_urlsafe(32)
            self.access_tokens[access] = grant.identity
            self.tokens_issued += 1
            return JSONResponse(
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": TOKEN_TTL,
                    "scope": "openid profile",
                    "id_token": self.id_token(grant, access),
                },
                headers={"Cache-Control": "no-store"},
            )

        @router.get("/userinfo")
        async def userinfo(request: Request) -> JSONResponse:
            header = request.headers.get("authorization", "")
            identity = (
                self.access_tokens.get(header[7:].strip())
                if header.lower().startswith("bearer ")
                else None
            )
            if identity is None:
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            return JSONResponse(identity)

        return router
