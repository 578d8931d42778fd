"""Tables of the security package: the append-only audit log and the sign-in
lockout counters. Created by migration ``0003``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from dichvucong.db.models import _ts


class AuditAction(StrEnum):
    READ_PERSONAL_DATA = "read_personal_data"
    DECISION = "decision"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    EXPORT = "export"


class AuditEvent(SQLModel, table=True):
    """One row per audited act; rows are never updated or deleted (the migration adds
    triggers refusing UPDATE and DELETE)."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_actor_at", "actor", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime | None = _ts(nullable=False, index=True)
    actor: str = Field(max_length=80)
    action: str = Field(index=True, max_length=24)
    dossier_code: str | None = Field(default=None, index=True, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ip: str | None = Field(default=None, max_length=64)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per account key (a keyed hash of the name typed, whether an
    account exists or not, so the answers never tell the two apart)."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    first_failed_at: datetime | None = _ts()
    locked_until: datetime | None = _ts()
