"""Creating official accounts (CLI and seeding share this)."""

from __future__ import annotations

from sqlalchemy import Table, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from dichvucong.accounts.passwords import hash_password
from dichvucong.accounts.roles import Role
from dichvucong.db.engine import Database
from dichvucong.db.models import OfficialAccount


def create_official(
    *,
    session: Session,
    username: str,
    password: str,
    agency_code: str,
    roles: list[str],
    full_name: str | None = None,
    update_existing: bool = False,
) -> OfficialAccount:
    unknown = [r for r in roles if r not in {x.value for x in Role}]
    if unknown:
        raise ValueError(f"unknown role(s): {', '.join(unknown)}; known: {', '.join(Role)}")
    if not roles:
        raise ValueError("an official needs at least one role")
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    existing = session.exec(
        select(OfficialAccount).where(OfficialAccount.username == username)
    ).first()
    if existing is not None and not update_existing:
        raise ValueError(f"official {username!r} already exists")
    official = existing or OfficialAccount(
        username=username, full_name="", agency_code="", password_hash=""
    )
    official.full_name = full_name or username
    official.agency_code = agency_code
    official.roles = sorted(set(roles))
    official.password_hash = hash_password(password)
    session.add(official)
    session.commit()
    session.refresh(official)
    return official


_officials: Table = OfficialAccount.__table__  # type: ignore[attr-defined]
_AGENCY_BY_NAME = sa_select(_officials.c.agency_code).where(
    _officials.c.username == bindparam("username")
)
_AGENCY_BY_ID = sa_select(_officials.c.agency_code).where(_officials.c.id == bindparam("id"))


def official_agency(
    db: Database, *, username: str | None = None, subject: str | None = None
) -> str | None:
    """The agency of the official account named (by sign-in name, or by the subject
    ``official:<id>`` of a token), active or not; None for anyone else. The sign-in
    events carry it so that the agency's supervisor sees them in the audit export."""
    with db.engine.connect() as conn:
        if subject is not None:
            kind, _, raw_id = subject.partition(":")
            if kind != "official" or not raw_id.isdigit():
                return None
            return conn.execute(_AGENCY_BY_ID, {"id": int(raw_id)}).scalar_one_or_none()
        if username:
            return conn.execute(
                _AGENCY_BY_NAME, {"username": username.strip()}
            ).scalar_one_or_none()
    return None
