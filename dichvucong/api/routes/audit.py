"""``GET /audit?from=&to=``: the audit log as CSV, for an inspector.

Administrators and the provincial supervisors get every event; a supervisor of
another agency gets the events of that agency's officials. The export itself is
an audited event.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from dichvucong.accounts.roles import PROVINCE_OFFICE_CODE
from dichvucong.api.deps import CurrentOfficial, SessionDep
from dichvucong.api.problems import DomainError, Forbidden
from dichvucong.api.routing import OneTripRoute
from dichvucong.calendar.work_calendar import SUPPORTED_YEARS, VN_TZ
from dichvucong.security.audit import audit_events, client_ip, csv_rows, record_audit
from dichvucong.security.models import AuditAction

router = APIRouter(tags=["audit"], route_class=OneTripRoute)


def _moment(value: str | None, *, end: bool) -> datetime | None:
    """``2026-12-01`` (a whole day in Vietnam time; ``to`` includes it) or an ISO moment."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if end:
                day += timedelta(days=1)
            moment = datetime.combine(day, time(), VN_TZ)
        else:
            moment = datetime.fromisoformat(value)
        if moment.year not in SUPPORTED_YEARS:
            raise ValueError(value)
    except (ValueError, OverflowError) as exc:
        raise DomainError(
            "invalid_period", "Thời điểm phải có dạng YYYY-MM-DD hoặc ISO 8601.", status=422
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)


@router.get(
    "/audit",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "the audit log as CSV"}},
)
def export_audit(
    request: Request,
    principal: CurrentOfficial,
    session: SessionDep,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> StreamingResponse:
    if not principal.has_role("supervisor", "admin"):
        raise Forbidden("audit_forbidden", "Chỉ cán bộ giám sát hoặc quản trị được xuất nhật ký.")
    lower, upper = _moment(start, end=False), _moment(end, end=True)
    events = audit_events(session, start=lower, end=upper)
    everything = principal.has_role("admin") or principal.agency_code == PROVINCE_OFFICE_CODE
    if not everything:
        events = [e for e in events if (e.detail or {}).get("agency") == principal.agency_code]
    record_audit(
        session,
        actor=principal.subject,
        action=AuditAction.EXPORT,
        detail={"from": start, "to": end, "rows": len(events), "agency": principal.agency_code},
        ip=client_ip(request),
    )
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        csv_rows(events),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="nhat-ky-truy-cap-{stamp}.csv"',
            "Cache-Control": "private, no-store",
        },
    )
