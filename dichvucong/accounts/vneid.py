"""Sign-in with VNeID (the national digital identity) over OpenID Connect.

The OIDC client is Authlib's (discovery, PKCE S256, nonce, ID token signature
checked against the provider's JWKS, iss/aud/exp/nonce/at_hash validated); this
module adds what is ours:

- the short-lived *flow* (state, nonce, PKCE verifier, where to go next) kept
  in a signed, HttpOnly cookie between the redirect and the callback — no
  server-side session store, so any API replica can finish the sign-in;
- linking: the first sign-in links to the citizen account with the same CCCD
  (claim ``personal_id``), or creates one from the verified claims. Password
  accounts keep working; a created account has no usable password (sign-in
  with VNeID, or "forgot password" later).

Settings: ``vneid_issuer`` (None: the simulated provider at
<public_base_url>/_sim/oidc outside production; VNeID off in production),
``vneid_client_id``, ``vneid_client_secret``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
import warnings
from dataclasses import dataclass
from datetime import date
from typing import Any

import authlib.deprecate  # noqa: F401  (installs its own "always" filter first)

with warnings.catch_warnings():
    # Authlib >= 1.9 prefers the "httpx2" package and says so; httpx still works.
    warnings.filterwarnings("ignore", message=".*httpx.*deprecated.*")
    from authlib.integrations.starlette_client import OAuth
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, or_, select

from dichvucong.accounts.citizens import principal_of
from dichvucong.accounts.identity import CCCD, PHONE, check_id_number, normalise_phone
from dichvucong.accounts.principal import Principal
from dichvucong.db.models import CitizenAccount, utcnow
from dichvucong.settings import Settings

FLOW_COOKIE = "dvc_vneid"
FLOW_PATH = "/dang-nhap/vneid"
FLOW_TTL_SECONDS = 600
# Not an argon2 hash: verify_password() is always False for it.
NO_PASSWORD = "!vneid"
ID_CLAIMS = ("personal_id", "cccd", "so_dinh_danh")

log = logging.getLogger("dichvucong.vneid")

MESSAGES = {
    "link_first": (
        "Số định danh này đã có tài khoản đăng ký bằng mật khẩu, chưa liên kết với VNeID. "
        "Vui lòng đăng nhập bằng mật khẩu rồi chọn «Đăng nhập bằng VNeID» để liên kết. "
        "Nếu tài khoản đó không phải của bạn, vui lòng liên hệ bộ phận một cửa."
    ),
}


class VneidError(Exception):
    """The sign-in cannot finish; ``message`` is for the citizen (Vietnamese)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message


def vneid_issuer(settings: Settings) -> str | None:
    if settings.vneid_issuer:
        return settings.vneid_issuer.rstrip("/")
    if settings.environment == "production":
        return None
    return f"{str(settings.public_base_url).rstrip('/')}/_sim/oidc"


def redirect_uri(settings: Settings) -> str:
    return f"{str(settings.public_base_url).rstrip('/')}{FLOW_PATH}/callback"


# ----------------------------------------------------------------- the flow cookie


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(secret: str, body: str) -> str:
    key = hashlib.sha256(b"vneid-flow:" + secret.encode()).digest()
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def seal_flow(secret: str, flow: dict[str, str], *, now: float | None = None) -> str:
    body = _b64(
        json.dumps(
            {**flow, "exp": int((now or time.time()) + FLOW_TTL_SECONDS)}, separators=(",", ":")
        ).encode()
    )
    return f"{body}.{_mac(secret, body)}"


def open_flow(secret: str, sealed: str | None, *, now: float | None = None) -> dict[str, str]:
    if not sealed or "." not in sealed:
        raise VneidError("Phiên đăng nhập VNeID đã hết hạn. Vui lòng thử lại.", "no flow cookie")
    body, mac = sealed.rsplit(".", 1)
    if not hmac.compare_digest(mac, _mac(secret, body)):
        raise VneidError("Phiên đăng nhập VNeID không hợp lệ.", "flow cookie signature")
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError as exc:
        raise VneidError("Phiên đăng nhập VNeID không hợp lệ.", "flow cookie body") from exc
    if int(data.get("exp", 0)) < (now or time.time()):
        raise VneidError("Phiên đăng nhập VNeID đã hết hạn. Vui lòng thử lại.", "flow expired")
    return {k: str(v) for k, v in data.items()}


# ----------------------------------------------------------------- the OIDC client


@dataclass
class VneidClient:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str

    def __post_init__(self) -> None:
        oauth = OAuth()
        self._app = oauth.register(
            name="vneid",
            client_id=self.client_id,
            client_secret=self.client_secret,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": "openid profile",
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_basic",
                "timeout": 10.0,
            },
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> VneidClient | None:
        issuer = vneid_issuer(settings)
        if issuer is None:
            return None
        return cls(
            issuer,
            settings.vneid_client_id,
            settings.vneid_client_secret,
            redirect_uri(settings),
        )

    def claims_options(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """The ID token must come from this issuer and be meant for this client: Authlib
        checks "aud" only when told to (OIDC Core §3.1.3.7, steps 2 and 3)."""
        return {
            "iss": {"essential": True, "values": [metadata["issuer"]]},
            "aud": {"essential": True, "values": [self.client_id]},
        }

    async def _metadata(self) -> dict[str, Any]:
        metadata = await self._app.load_server_metadata()
        if str(metadata.get("issuer", "")).rstrip("/") != self.issuer:
            # OIDC Discovery §4.3: the document must name the issuer we asked.
            raise VneidError("Không kết nối được VNeID.", "issuer mismatch in discovery")
        return metadata

    async def start(self, next_path: str = "") -> tuple[str, dict[str, str]]:
        """The provider's authorization URL and the flow to keep until the callback."""
        try:
            await self._metadata()
            rv = await self._app.create_authorization_url(
                self.redirect_uri, nonce=secrets.token_urlsafe(24)
            )
        except VneidError:
            raise
        except Exception as exc:  # discovery unreachable or malformed
            raise VneidError(
                "Không kết nối được VNeID. Vui lòng thử lại sau.",
                f"discovery: {type(exc).__name__}: {exc}",
            ) from exc
        flow = {
            "state": rv["state"],
            "nonce": rv["nonce"],
            "verifier": rv["code_verifier"],
            "next": next_path,
        }
        return rv["url"], flow

    async def finish(self, params: dict[str, str], flow: dict[str, str]) -> dict[str, Any]:
        """The verified ID token claims, after checking the callback against the flow."""
        if params.get("error"):
            raise VneidError(
                "Bạn đã hủy hoặc VNeID từ chối đăng nhập.", f"provider error {params['error']}"
            )
        state = params.get("state", "")
        if not state or not hmac.compare_digest(state, flow.get("state", "")):
            raise VneidError("Phiên đăng nhập VNeID không hợp lệ (state).", "state mismatch")
        if not params.get("code"):
            raise VneidError("Phiên đăng nhập VNeID không hợp lệ.", "no code")
        try:
            metadata = await self._metadata()
            token = await self._app.fetch_access_token(
                redirect_uri=self.redirect_uri, code=params["code"], code_verifier=flow["verifier"]
            )
            if "id_token" not in token:
                raise VneidError("VNeID không trả về thông tin định danh.", "no id_token")
            claims = await self._app.parse_id_token(
                token, nonce=flow["nonce"], claims_options=self.claims_options(metadata)
            )
        except VneidError:
            raise
        except Exception as exc:  # bad signature, nonce, aud, exp, token endpoint refusal
            raise VneidError(
                "Không xác thực được thông tin từ VNeID.", f"{type(exc).__name__}: {exc}"
            ) from exc
        return dict(claims)


# ----------------------------------------------------------------- accounts


def personal_id_of(claims: dict[str, Any]) -> str:
    for name in ID_CLAIMS:
        value = str(claims.get(name) or "").strip()
        if value:
            return value
    return ""


def link_or_create(
    session: Session, claims: dict[str, Any], signed_in: Principal | None = None
) -> tuple[Principal, bool]:
    """The citizen with the verified CCCD (created from the claims if new) and
    whether the account was just created.

    An account registered with a password holds a CCCD nobody proved: anyone may have
    typed it. VNeID enters it only once its owner linked it, signed in with the password
    (``signed_in``); until then the sign-in is refused, so a look-alike account set up in
    advance never receives the real citizen's dossiers."""
    id_number = personal_id_of(claims)
    if not CCCD.match(id_number):
        raise VneidError("VNeID không cung cấp số định danh cá nhân hợp lệ.", "personal_id")
    existing = session.exec(
        select(CitizenAccount).where(CitizenAccount.id_number == id_number)
    ).first()
    if existing is not None:
        if existing.vneid_verified_at is None:
            if signed_in is None or not signed_in.is_citizen or signed_in.id != existing.id:
                raise VneidError(MESSAGES["link_first"], "unverified account")
            existing.vneid_verified_at = utcnow()
            session.add(existing)
            session.commit()
            log.info("vneid_linked citizen=%s", existing.id)
        return principal_of(existing), False
    try:
        born = date.fromisoformat(str(claims.get("birthdate") or ""))
    except ValueError as exc:
        raise VneidError("VNeID không cung cấp ngày sinh hợp lệ.", "birthdate") from exc
    if check_id_number(id_number, born):
        raise VneidError("Số định danh và ngày sinh từ VNeID không khớp nhau.", "id/birthdate")
    phone = normalise_phone(str(claims.get("phone_number") or ""))
    email = str(claims.get("email") or "").strip().lower() or None
    name = " ".join(str(claims.get("name") or "").split())
    if not name or not PHONE.match(phone):
        raise VneidError(
            "Thông tin từ VNeID chưa đủ để tạo tài khoản (họ tên, số điện thoại). "
            "Vui lòng đăng ký tài khoản.",
            "name/phone",
        )
    same_contact = [CitizenAccount.phone == phone]
    if email:
        same_contact.append(CitizenAccount.email == email)
    taken = session.exec(select(CitizenAccount.id).where(or_(*same_contact))).first()
    if taken is not None:
        raise VneidError(
            "Số điện thoại hoặc email từ VNeID đã thuộc một tài khoản khác. "
            "Vui lòng đăng nhập bằng mật khẩu hoặc liên hệ bộ phận hỗ trợ.",
            "phone/email taken",
        )
    address = claims.get("address")
    if isinstance(address, dict):  # OIDC standard address claim
        address = address.get("formatted") or ""
    account = CitizenAccount(
        full_name=name,
        id_number=id_number,
        date_of_birth=born,
        phone=phone,
        email=email,
        address=str(address or "").strip(),
        password_hash=NO_PASSWORD,
        vneid_verified_at=utcnow(),
    )
    session.add(account)
    try:
        session.commit()
    except IntegrityError:  # a concurrent first sign-in created it
        session.rollback()
        again = session.exec(
            select(CitizenAccount).where(CitizenAccount.id_number == id_number)
        ).first()
        if again is None:
            raise VneidError("Không tạo được tài khoản. Vui lòng thử lại.", "integrity") from None
        return principal_of(again), False
    session.refresh(account)
    return principal_of(account), True
