"""Dossier codes: ``<agency id>-YYMMDD-XXXX`` (Circular 01/2018/TT-VPCP), the
4-digit sequence restarting each day per agency, unique under concurrency."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session

from dichvucong.calendar.work_calendar import VN_TZ
from dichvucong.db.models import DossierCodeCounter


class SequenceExhausted(RuntimeError):
    pass


@cache
def _next_number(dialect: str) -> Any:
    """The counter's UPSERT ... RETURNING for a dialect, built once (values bound)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = DossierCodeCounter.__table__  # type: ignore[attr-defined]
    return (
        insert(table)
        .values(agency_code=bindparam("agency_code"), day=bindparam("day"), last_number=1)
        .on_conflict_do_update(
            index_elements=["agency_code", "day"], set_={"last_number": table.c.last_number + 1}
        )
        .returning(table.c.last_number)
    )


def allocate_code(session: Session | Connection, agency_code: str, moment: datetime) -> str:
    """Takes the next number for (agency, day) in the caller's transaction.

    One atomic UPSERT ... RETURNING: two submissions racing on SQLite or
    PostgreSQL get different numbers without a read-modify-write window.
    """
    day = moment.astimezone(VN_TZ).strftime("%y%m%d")
    bind = session if isinstance(session, Connection) else session.get_bind()
    number = session.execute(
        _next_number(bind.dialect.name), {"agency_code": agency_code, "day": day}
    ).scalar_one()
    if number > 9999:
        raise SequenceExhausted(f"more than 9999 dossiers for {agency_code} on {day}")
    return f"{agency_code}-{day}-{number:04d}"
