"""What a supervisor watches now: overdue cases, cases due soon, cases waiting
for the citizen, counts by agency and procedure, and the Temporal UI links."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from dichvucong.calendar import WorkCalendar
from dichvucong.db.models import Dossier
from dichvucong.stats.indicators import D, _connection
from dichvucong.workflows.messages import FINAL_STATUSES

OPEN_STATUSES = ("PROCESSING", "AWAITING_PAYMENT", "SUPPLEMENT_REQUESTED", "SUBMITTED")
LIST_LIMIT = 50
DOSSIER = Dossier.__table__  # type: ignore[attr-defined]


def temporal_ui_link(base_url: str, namespace: str, query: str) -> str:
    """The Temporal UI's workflow list with ``query`` already filled in."""
    return (
        f"{base_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows"
        f"?query={quote(query, safe='')}"
    )


def temporal_ui_case_link(base_url: str, namespace: str, workflow_id: str) -> str:
    return (
        f"{base_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/"
        f"{quote(workflow_id, safe='')}"
    )


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scope(agencies: Collection[str] | None) -> str:
    if agencies is None:
        return ""
    quoted = ", ".join(f'"{a}"' for a in sorted(agencies))
    return f" AND AgencyCode IN ({quoted})"


def queries(
    now: datetime, calendar: WorkCalendar, agencies: Collection[str] | None = None
) -> dict[str, str]:
    """The README's supervisor queries with today's dates written as literals
    (the server refuses ``now()`` in a query)."""
    base = 'WorkflowType = "DossierWorkflow" AND ExecutionStatus = "Running"' + _scope(agencies)
    in_one = rfc3339(calendar.add_working_days(now, 1))
    in_three = rfc3339(calendar.add_working_days(now, 3))
    return {
        "overdue": f"{base} AND Overdue = true",
        "due_1": f'{base} AND Overdue = false AND DueAt < "{in_one}" AND CaseStatus = "PROCESSING"',
        "due_3": f'{base} AND Overdue = false AND DueAt < "{in_three}" AND CaseStatus = "PROCESSING"',
        "waiting_citizen": f'{base} AND CaseStatus = "SUPPLEMENT_REQUESTED"',
    }


@dataclass
class CaseLine:
    code: str
    agency_code: str
    procedure_code: str
    status: str
    due_at: datetime | None


@dataclass
class Board:
    now: datetime
    overdue: list[CaseLine] = field(default_factory=list)
    due_1: list[CaseLine] = field(default_factory=list)
    due_3: list[CaseLine] = field(default_factory=list)
    waiting_citizen: list[CaseLine] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    by_agency: list[dict[str, object]] = field(default_factory=list)
    by_procedure: list[dict[str, object]] = field(default_factory=list)


def build_board(
    db: Session | Connection,
    calendar: WorkCalendar,
    *,
    agencies: Collection[str] | None = None,
    now: datetime | None = None,
) -> Board:
    now = now or datetime.now(UTC)
    in_one, in_three = calendar.add_working_days(now, 1), calendar.add_working_days(now, 3)
    scope = [D.agency_code.in_(list(agencies))] if agencies is not None else []
    running = sa.and_(D.status.not_in([str(s) for s in FINAL_STATUSES]), *scope)
    processing = sa.and_(
        running, D.status == "PROCESSING", D.overdue.is_(sa.false()), D.due_at.is_not(None)
    )
    conditions = {
        "overdue": sa.and_(running, D.overdue.is_(sa.true())),
        "due_1": sa.and_(processing, D.due_at >= now, D.due_at < in_one),
        "due_3": sa.and_(processing, D.due_at >= now, D.due_at < in_three),
        "waiting_citizen": sa.and_(running, D.status == "SUPPLEMENT_REQUESTED"),
    }
    board = Board(now=now)
    with _connection(db) as conn:
        for key, condition in conditions.items():
            stmt = (
                sa.select(D.code, D.agency_code, D.procedure_code, D.status, D.due_at)
                .where(condition)
                .order_by(D.due_at.is_(None), D.due_at, D.code)
                .limit(LIST_LIMIT)
            )
            lines = [CaseLine(*row) for row in conn.execute(stmt)]
            setattr(board, key, lines)
            board.totals[key] = int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(DOSSIER).where(condition)
                ).scalar_one()
            )
        for column, target in (
            (D.agency_code, board.by_agency),
            (D.procedure_code, board.by_procedure),
        ):
            stmt = (
                sa.select(
                    column,
                    sa.func.count(),
                    sa.func.sum(sa.case((conditions["overdue"], 1), else_=0)),
                    sa.func.sum(sa.case((conditions["due_3"], 1), else_=0)),
                    sa.func.sum(sa.case((conditions["waiting_citizen"], 1), else_=0)),
                )
                .where(running)
                .group_by(column)
                .order_by(column)
            )
            for key, total, overdue, due_3, waiting in conn.execute(stmt):
                target.append(
                    {
                        "key": key,
                        "open": int(total),
                        "overdue": int(overdue or 0),
                        "due_3": int(due_3 or 0),
                        "waiting_citizen": int(waiting or 0),
                    }
                )
    return board
