"""Sign-in lockout: after ``login_max_failures`` failed sign-ins of one account
name within ``login_lockout_minutes``, that name is locked for
``login_lockout_minutes``; it unlocks by itself when the time has passed.

The counter is keyed by a keyed hash of the name typed (CCCD, phone, email or
official username), whether an account exists or not: a locked unknown name
answers exactly like a locked real one (no account enumeration), and the table
holds no identifier in clear. Kept in the database, so every API replica shares it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from dichvucong.accounts.identity import PHONE, normalise_phone
from dichvucong.db.engine import Database
from dichvucong.security.models import LoginThrottle

LOCKED_MESSAGE = (
    "Tài khoản tạm thời bị khóa do đăng nhập sai nhiều lần. Vui lòng thử lại sau {minutes} phút."
)


def login_key(secret: str, username: str) -> str:
    """The same key for every spelling authenticate() treats as the same name."""
    name = username.strip().lower()
    phone = normalise_phone(name)
    if PHONE.match(phone):
        name = phone
    return hmac.new(secret.encode(), b"login|" + name.encode(), hashlib.sha256).hexdigest()[:48]


def locked_seconds(db: Database, key: str, now: datetime | None = None) -> int:
    """Seconds the name stays locked (0: not locked)."""
    now = now or datetime.now(UTC)
    with db.session() as session:
        row = session.get(LoginThrottle, key)
    if row is None or row.locked_until is None or row.locked_until <= now:
        return 0
    return max(1, int((row.locked_until - now).total_seconds() + 0.999))


def register_failure(
    db: Database, key: str, *, max_failures: int, minutes: int, now: datetime | None = None
) -> int:
    """Count a failed sign-in; returns the seconds of the lock it causes (0: none yet)."""
    now = now or datetime.now(UTC)
    window = timedelta(minutes=minutes)
    for _attempt in range(3):
        with db.session() as session:
            row = session.get(LoginThrottle, key)
            if row is None:
                row = LoginThrottle(key=key, failures=0)
            if row.locked_until is not None and row.locked_until <= now:
                row.locked_until = None  # an expired lock starts a fresh count
                row.failures, row.first_failed_at = 0, None
            if row.first_failed_at is None or now - row.first_failed_at > window:
                row.failures, row.first_failed_at = 0, now
            row.failures += 1
            locked = 0
            if row.failures >= max_failures and row.locked_until is None:
                row.locked_until = now + window
                locked = int(window.total_seconds())
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # a concurrent first failure inserted the row
                session.rollback()
                continue
            return locked
    return 0


def register_success(db: Database, key: str) -> None:
    with db.session() as session:
        row = session.get(LoginThrottle, key)
        if row is not None:
            session.delete(row)
            session.commit()
