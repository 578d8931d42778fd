"""Registering citizens and signing anyone in (citizen by CCCD, phone or email;
official by username)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, Field
from sqlalchemy import Table, bindparam, or_
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from dichvucong.accounts.identity import (
    MESSAGES,
    PHONE,
    check_id_number,
    is_passport,
    normalise_phone,
)
from dichvucong.accounts.passwords import hash_password, verify_password
from dichvucong.accounts.principal import Principal
from dichvucong.accounts.tokens import InvalidToken, read_token
from dichvucong.db.engine import Database
from dichvucong.db.models import CitizenAccount, OfficialAccount

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
# The longest sign-in name of any account (an email address) and of an official's
# username (the column's length). A longer name is refused, never cut: a cut name
# would be checked as one account while the lockout counts it as another.
LOGIN_NAME_MAX = 254
OFFICIAL_NAME_MAX = 64

FIELD_MESSAGES = {
    "full_name": "Vui lòng nhập họ và tên.",
    "date_of_birth": "Vui lòng nhập ngày sinh hợp lệ.",
    "date_of_birth_future": "Ngày sinh không thể ở tương lai.",
    "address": "Vui lòng nhập địa chỉ.",
    "password": f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự.",
    "email": "Địa chỉ email không hợp lệ.",
    "id_taken": "Số CCCD này đã được đăng ký. Vui lòng đăng nhập.",
    "phone_taken": "Số điện thoại này đã được đăng ký.",
    "email_taken": "Email này đã được đăng ký.",
    "passport": "Số hộ chiếu gồm 1 chữ cái và 7 chữ số, ví dụ C1234567.",
    "passport_taken": "Số hộ chiếu này đã được đăng ký cho tài khoản khác.",
    "login_name_too_long": "Tên đăng nhập không được dài quá {n} ký tự.",
}


class FieldErrors(ValueError):
    """Validation failures keyed by field, each with a Vietnamese sentence."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class CitizenCreate(BaseModel):
    full_name: str = Field(max_length=120)
    id_number: str = Field(max_length=20)
    date_of_birth: date | None = None
    phone: str = Field(max_length=20)
    email: str | None = Field(default=None, max_length=254)
    address: str = Field(max_length=300)
    password: str = Field(max_length=128)
    passport_number: str | None = Field(default=None, max_length=20)


class CitizenProfileUpdate(BaseModel):
    full_name: str = Field(max_length=120)
    phone: str = Field(max_length=20)
    email: str | None = Field(default=None, max_length=254)
    address: str = Field(max_length=300)
    # None leaves the stored passport as it is; "" removes it.
    passport_number: str | None = Field(default=None, max_length=20)


def normalise_passport(passport: str | None) -> str | None:
    """As printed in the passport (upper case, no spaces); None when not given."""
    text = "".join((passport or "").split()).upper()
    return text or None


def _check_passport(errors: dict[str, str], passport: str | None) -> None:
    text = normalise_passport(passport)
    if text is not None and not is_passport(text):
        errors["passport_number"] = FIELD_MESSAGES["passport"]


def _check_contact(
    errors: dict[str, str], *, full_name: str, phone: str, email: str | None, address: str
) -> None:
    if not full_name.strip():
        errors["full_name"] = FIELD_MESSAGES["full_name"]
    if not PHONE.match(normalise_phone(phone)):
        errors["phone"] = MESSAGES["phone"]
    if email and not EMAIL.match(email.strip()):
        errors["email"] = FIELD_MESSAGES["email"]
    if not address.strip():
        errors["address"] = FIELD_MESSAGES["address"]


def validate_registration(data: CitizenCreate, *, today: date | None = None) -> dict[str, str]:
    errors: dict[str, str] = {}
    _check_contact(
        errors, full_name=data.full_name, phone=data.phone, email=data.email, address=data.address
    )
    if data.date_of_birth is None:
        errors["date_of_birth"] = FIELD_MESSAGES["date_of_birth"]
    elif data.date_of_birth > (today or date.today()):
        errors["date_of_birth"] = FIELD_MESSAGES["date_of_birth_future"]
    id_problem = check_id_number(data.id_number.strip(), data.date_of_birth)
    if id_problem:
        errors["id_number"] = id_problem
    if len(data.password) < MIN_PASSWORD:
        errors["password"] = FIELD_MESSAGES["password"]
    _check_passport(errors, data.passport_number)
    return errors


def _uniqueness(
    session: Session,
    *,
    id_number: str | None,
    phone: str,
    email: str | None,
    passport: str | None = None,
    exclude_id: int | None = None,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    checks = [("phone", CitizenAccount.phone, phone, "phone_taken")]
    if id_number:
        checks.append(("id_number", CitizenAccount.id_number, id_number, "id_taken"))
    if email:
        checks.append(("email", CitizenAccount.email, email, "email_taken"))
    if passport:
        checks.append(
            ("passport_number", CitizenAccount.passport_number, passport, "passport_taken")
        )
    for field_name, column, value, message in checks:
        query = select(CitizenAccount.id).where(column == value)
        if exclude_id is not None:
            query = query.where(CitizenAccount.id != exclude_id)
        if session.exec(query).first() is not None:
            errors[field_name] = FIELD_MESSAGES[message]
    return errors


def register_citizen(*, session: Session, data: CitizenCreate) -> CitizenAccount:
    errors = validate_registration(data)
    if errors:
        raise FieldErrors(errors)
    phone = normalise_phone(data.phone)
    email = data.email.strip().lower() if data.email else None
    id_number = data.id_number.strip()
    passport = normalise_passport(data.passport_number)
    errors = _uniqueness(session, id_number=id_number, phone=phone, email=email, passport=passport)
    if errors:
        raise FieldErrors(errors)
    assert data.date_of_birth is not None
    account = CitizenAccount(
        full_name=" ".join(data.full_name.split()),
        id_number=id_number,
        date_of_birth=data.date_of_birth,
        phone=phone,
        email=email,
        passport_number=passport,
        address=data.address.strip(),
        password_hash=hash_password(data.password),
    )
    session.add(account)
    try:
        session.commit()
    except IntegrityError as exc:  # a concurrent registration with the same identifiers
        session.rollback()
        raise FieldErrors({"id_number": FIELD_MESSAGES["id_taken"]}) from exc
    session.refresh(account)
    return account


def update_profile(
    *, session: Session, account: CitizenAccount, data: CitizenProfileUpdate
) -> CitizenAccount:
    errors: dict[str, str] = {}
    _check_contact(
        errors, full_name=data.full_name, phone=data.phone, email=data.email, address=data.address
    )
    _check_passport(errors, data.passport_number)
    if errors:
        raise FieldErrors(errors)
    phone = normalise_phone(data.phone)
    email = data.email.strip().lower() if data.email else None
    passport = (
        account.passport_number
        if data.passport_number is None
        else normalise_passport(data.passport_number)
    )
    errors = _uniqueness(
        session, id_number=None, phone=phone, email=email, passport=passport, exclude_id=account.id
    )
    if errors:
        raise FieldErrors(errors)
    account.full_name = " ".join(data.full_name.split())
    account.phone, account.email, account.address = phone, email, data.address.strip()
    account.passport_number = passport
    session.add(account)
    session.commit()
    return account


def change_password(
    *, session: Session, account: CitizenAccount | OfficialAccount, current: str, new: str
) -> None:
    if not verify_password(account.password_hash, current):
        raise FieldErrors({"current_password": "Mật khẩu hiện tại không đúng."})
    if len(new) < MIN_PASSWORD:
        raise FieldErrors({"new_password": FIELD_MESSAGES["password"]})
    account.password_hash = hash_password(new)
    session.add(account)
    session.commit()


def principal_of(account: CitizenAccount | OfficialAccount) -> Principal:
    assert account.id is not None
    if isinstance(account, CitizenAccount):
        return Principal(kind="citizen", id=account.id, name=account.full_name)
    return Principal(
        kind="official",
        id=account.id,
        name=account.full_name,
        agency_code=account.agency_code,
        roles=tuple(account.roles),
    )


# A hash of a random password: checking it costs what a real check costs, so a
# missing account answers as slowly as a wrong password (no enumeration by timing).
_DUMMY_HASH = hash_password("not-a-real-password-0")


def authenticate(*, session: Session, username: str, password: str) -> Principal | None:
    username = username.strip()
    official = session.exec(
        select(OfficialAccount).where(
            OfficialAccount.username == username,
            OfficialAccount.active.is_(True),  # type: ignore[attr-defined]
        )
    ).first()
    if official is not None:
        return principal_of(official) if verify_password(official.password_hash, password) else None
    phone = normalise_phone(username)
    citizen = session.exec(
        select(CitizenAccount).where(
            or_(
                CitizenAccount.id_number == username,
                CitizenAccount.phone == phone,
                CitizenAccount.email == username.lower(),
            )
        )
    ).first()
    if citizen is None:
        verify_password(_DUMMY_HASH, password)
        return None
    return principal_of(citizen) if verify_password(citizen.password_hash, password) else None


def principal_for_token(db: Database, secret: str, raw: str | None) -> Principal | None:
    """The account a token of ours names, when the token is valid and unexpired and the
    account still exists (and, for an official, is active); a short session of its own."""
    if not raw:
        return None
    try:
        claims = read_token(secret, raw)
    except InvalidToken:
        return None
    with db.read_session() as session:
        return load_principal(session, claims.subject)


def load_principal(session: Session, subject: str) -> Principal | None:
    """The caller of every authenticated request: one indexed read of the columns a
    Principal needs (no ORM object), so deactivating an official takes effect at once."""
    kind, _, raw_id = subject.partition(":")
    if not raw_id.isdigit():
        return None
    account_id = int(raw_id)
    conn = session.connection()
    if kind == "citizen":
        name = conn.execute(_CITIZEN_NAME, {"id": account_id}).scalar_one_or_none()
        return Principal(kind="citizen", id=account_id, name=name) if name is not None else None
    if kind == "official":
        row = conn.execute(_OFFICIAL, {"id": account_id}).first()
        if row is None or not row.active:
            return None
        return Principal(kind="official", id=account_id, name=row.full_name,
                         agency_code=row.agency_code, roles=tuple(row.roles))  # fmt: skip
    return None


@dataclass(frozen=True)
class CitizenContact:
    full_name: str
    email: str | None
    phone: str | None


_citizens: Table = CitizenAccount.__table__  # type: ignore[attr-defined]
_CONTACT = sa_select(_citizens.c.full_name, _citizens.c.email, _citizens.c.phone).where(
    _citizens.c.id == bindparam("id")
)


def contact_of(db: Database, citizen_id: int) -> CitizenContact | None:
    """Where the notice channels reach a citizen (one indexed read, no ORM object:
    every notice to a citizen asks)."""
    with db.engine.connect() as conn:
        row = conn.execute(_CONTACT, {"id": citizen_id}).first()
    return CitizenContact(row.full_name, row.email, row.phone) if row else None


_officials: Table = OfficialAccount.__table__  # type: ignore[attr-defined]
_CITIZEN_NAME = sa_select(_citizens.c.full_name).where(_citizens.c.id == bindparam("id"))
_OFFICIAL = sa_select(
    _officials.c.full_name, _officials.c.agency_code, _officials.c.roles, _officials.c.active
).where(_officials.c.id == bindparam("id"))
