"""The moment the portal stops expecting a dossier's online payment, which INIT tells
the gateway (``expire_at``) so that a citizen with the gateway's page still open
cannot pay a case the workflow has already closed.

The workflow holds the moment as a timer: ``payment_expiry_days`` working days from
the transition into AWAITING_PAYMENT, planned by ``plan_deadline``. The read model
does not carry it, so it is planned again here from that transition's event, with
the same calendar and rule. A transition that states ``expires_at`` in its data wins
over the plan. The plan starts at the event's moment, a little after the
workflow's own start, so the gateway is told a minute earlier (``MARGIN``): it must
close no later than the case does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from dichvucong.activities.contracts import DeadlineRequest
from dichvucong.activities.deadlines import DeadlineActivities
from dichvucong.calendar import WorkCalendar
from dichvucong.db.engine import Database
from dichvucong.db.models import DossierEvent
from dichvucong.settings import Settings
from dichvucong.workflows.references import GATEWAY_EXPIRY_MARGIN

AWAITING_PAYMENT = "AWAITING_PAYMENT"
# After this event a payment due before the result no longer expires (the counter or a
# new online payment still works): the gateway is told no expiry then.
EXPIRED_ACTION = "payment_expired"
MARGIN = GATEWAY_EXPIRY_MARGIN


def payment_expiry(
    settings: Settings,
    dossier_code: str,
    *,
    db: Database | None = None,
    calendar: WorkCalendar | None = None,
) -> datetime | None:
    """Blocking (a short read of the read model): call it from a thread in async code.
    ``db`` and ``calendar``: the app's (an engine and a calendar built for one call
    cost 3.5 CPU-ms of each payment start); built from ``settings`` when not given."""
    own = db is None
    database = Database(settings.resolved_database_url) if db is None else db
    try:
        with database.read_session() as session:
            events = session.exec(
                select(DossierEvent)
                .where(DossierEvent.dossier_code == dossier_code)
                .order_by(DossierEvent.seq)  # type: ignore[arg-type]
            ).all()
    finally:
        if own:
            database.dispose()
    return expiry_from_events(
        events,
        calendar=calendar or WorkCalendar.from_settings(settings),
        days=settings.payment_expiry_days,
    )


def expiry_from_events(
    events: Sequence[DossierEvent], *, calendar: WorkCalendar, days: int
) -> datetime | None:
    """None when the case does not wait for a payment that expires."""
    entered: DossierEvent | None = None
    for event in events:
        if event.to_status == AWAITING_PAYMENT and event.from_status != AWAITING_PAYMENT:
            entered = event
        elif entered is not None and event.action == EXPIRED_ACTION:
            entered = None
    if entered is None or entered.at is None:
        return None
    stated = _stated(entered.data)
    if stated is not None:
        return stated
    start = entered.at if entered.at.tzinfo else entered.at.replace(tzinfo=UTC)
    plan = DeadlineActivities(calendar).plan_deadline(
        DeadlineRequest(start=start, working_days=days)
    )
    return plan.due_at - MARGIN


def _stated(data: dict[str, Any] | None) -> datetime | None:
    value = (data or {}).get("expires_at")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else None
