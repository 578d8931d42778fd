"""Accounts and sign-in: `POST /accounts`, `POST /auth/token` (OAuth2 password flow)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from dichvucong.accounts.citizens import (
    CitizenCreate,
    CitizenProfileUpdate,
    FieldErrors,
    authenticate,
    change_password,
    register_citizen,
    update_profile,
)
from dichvucong.accounts.tokens import issue_token
from dichvucong.api.deps import CurrentCitizen, CurrentPrincipal, SessionDep, SettingsDep
from dichvucong.api.problems import DomainError
from dichvucong.api.routing import OneTripRoute
from dichvucong.db.models import CitizenAccount

router = APIRouter(tags=["accounts"], route_class=OneTripRoute)


class CitizenPublic(BaseModel):
    id: int
    full_name: str
    id_number: str
    date_of_birth: date
    phone: str
    email: str | None
    address: str
    passport_number: str | None = None


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Me(BaseModel):
    kind: str
    id: int
    name: str
    agency_code: str | None = None
    roles: list[str] = []


class PasswordChange(BaseModel):
    current_password: str
    new_password: str


def invalid_fields(exc: FieldErrors) -> DomainError:
    return DomainError("invalid_fields", "Thông tin chưa hợp lệ.", status=422, errors=exc.errors)


def _public(account: CitizenAccount) -> CitizenPublic:
    return CitizenPublic.model_validate(account, from_attributes=True)


@router.post("/accounts", status_code=201, response_model=CitizenPublic)
def create_account(data: CitizenCreate, session: SessionDep) -> CitizenPublic:
    try:
        return _public(register_citizen(session=session, data=data))
    except FieldErrors as exc:
        raise invalid_fields(exc) from exc


@router.post("/auth/token", response_model=Token)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    principal = authenticate(session=session, username=form.username, password=form.password)
    if principal is None:
        # One answer for unknown account and wrong password: no account enumeration.
        raise DomainError(
            "invalid_credentials", "Tên đăng nhập hoặc mật khẩu không đúng.", status=401
        )
    ttl = settings.access_token_minutes * 60
    return Token(
        access_token=issue_token(settings.secret_key, principal.subject, ttl_seconds=ttl),
        expires_in=ttl,
    )


@router.get("/me", response_model=Me)
def me(principal: CurrentPrincipal) -> Me:
    return Me(
        kind=principal.kind,
        id=principal.id,
        name=principal.name,
        agency_code=principal.agency_code,
        roles=list(principal.roles),
    )


@router.get("/me/profile", response_model=CitizenPublic)
def profile(principal: CurrentCitizen, session: SessionDep) -> CitizenPublic:
    account = session.get(CitizenAccount, principal.id)
    assert account is not None
    return _public(account)


@router.put("/me/profile", response_model=CitizenPublic)
def put_profile(
    data: CitizenProfileUpdate, principal: CurrentCitizen, session: SessionDep
) -> CitizenPublic:
    account = session.get(CitizenAccount, principal.id)
    assert account is not None
    try:
        return _public(update_profile(session=session, account=account, data=data))
    except FieldErrors as exc:
        raise invalid_fields(exc) from exc


@router.post("/me/password", status_code=204)
def post_password(data: PasswordChange, principal: CurrentCitizen, session: SessionDep) -> None:
    account = session.get(CitizenAccount, principal.id)
    assert account is not None
    try:
        change_password(
            session=session, account=account, current=data.current_password, new=data.new_password
        )
    except FieldErrors as exc:
        raise invalid_fields(exc) from exc
