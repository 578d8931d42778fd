"""``GET /api/v1/national-sync``: what the national portal refused (or has not
acknowledged yet) and the sync rate per agency — for supervisors (role
``supervisor`` or ``admin``; an agency's supervisor sees that agency)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from dichvucong.api.deps import CatalogDep, CurrentOfficial, SessionDep, SettingsDep
from dichvucong.api.problems import DomainError
from dichvucong.api.routes.supervision import narrow, supervised_agencies
from dichvucong.api.routing import OneTripRoute
from dichvucong.integrations.national import sync_rates, sync_records
from dichvucong.stats import requested_period
from dichvucong.stats.periods import PeriodError

router = APIRouter(tags=["supervision"], route_class=OneTripRoute)


@router.get("/national-sync")
def national_sync(
    principal: CurrentOfficial,
    settings: SettingsDep,
    session: SessionDep,
    catalog: CatalogDep,
    status: Literal["rejected", "failed", "synced"] | None = None,
    agency: str | None = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Sync records (newest first; ``status=rejected`` for the ones needing a
    person) and, over [from, to] (default this quarter), per agency: dossiers
    received, dossiers the national portal acknowledged, and their ratio."""
    scope = narrow(supervised_agencies(principal), agency, catalog)
    try:
        period = requested_period(from_, to)
    except PeriodError as exc:
        raise DomainError("bad_period", str(exc)) from exc
    rows = sync_records(session, status=status, agencies=scope, limit=limit)
    rates = sync_rates(session, period.start, period.end, scope)
    return {
        "period": {
            "label": period.label,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        },
        "items": [
            {
                "dossier_code": r.dossier_code,
                "seq": r.seq,
                "kind": r.kind,
                "agency_code": r.agency_code,
                "procedure_code": r.procedure_code,
                "status": r.status,
                "reason": r.reason,
                "attempts": r.attempts,
                "transition_status": r.request.get("status"),
                "first_attempt_at": r.first_attempt_at.isoformat() if r.first_attempt_at else None,
                "synced_at": r.synced_at.isoformat() if r.synced_at else None,
                "updated_at": r.updated_at.isoformat() if r.updated_at else None,
            }
            for r in rows
        ],
        "rates": [
            {
                "agency_code": r.agency_code,
                "agency_name": catalog.agency_name(r.agency_code),
                "received": r.received,
                "synced": r.synced,
                "sync_rate": round(r.rate, 6) if r.rate is not None else None,
            }
            for r in rates
        ],
    }
