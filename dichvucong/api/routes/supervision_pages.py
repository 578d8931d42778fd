"""Supervisor's dashboard page (/giam-sat) and the printable report page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from dichvucong.accounts.principal import Principal
from dichvucong.api.deps import CalendarDep, CatalogDep, CurrentOfficial, SessionDep, SettingsDep
from dichvucong.api.problems import DomainError
from dichvucong.api.routes.supervision import narrow, supervised_agencies
from dichvucong.api.routing import OneTripRoute
from dichvucong.calendar.work_calendar import VN_TZ
from dichvucong.reports.model import Report
from dichvucong.stats import requested_period
from dichvucong.stats.dashboard import (
    build_board,
    queries,
    temporal_ui_case_link,
    temporal_ui_link,
)
from dichvucong.stats.indicators import scoped_statistics
from dichvucong.stats.periods import PeriodError
from dichvucong.workflows import texts

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def _moment(value: datetime | None) -> str:
    return texts.fmt_moment(value)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %".replace(".", ",")


def _number(value: float | int | None, decimals: int = 0) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


templates.env.filters["moment"] = _moment
templates.env.filters["percent"] = _percent
templates.env.filters["number"] = _number
templates.env.globals["status_label"] = texts.status_label

router = APIRouter(tags=["supervision pages"], route_class=OneTripRoute)


def render_report(report: Report, *, principal: Principal | None = None) -> HTMLResponse:
    """The printable report (A4, one section per agency); ``principal`` names the
    supervisor in the page's header."""
    template = templates.env.get_template("supervision/report.html")
    return HTMLResponse(
        template.render(report=report, generated=_moment(report.generated_at), principal=principal)
    )


@router.get("/giam-sat", response_class=HTMLResponse)
def dashboard(
    request: Request,
    principal: CurrentOfficial,
    settings: SettingsDep,
    session: SessionDep,
    catalog: CatalogDep,
    calendar: CalendarDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    agency: str | None = None,
) -> HTMLResponse:
    scope = narrow(supervised_agencies(principal), agency or None, catalog)
    now = datetime.now(UTC)
    try:
        period = requested_period(from_, to, now)
    except PeriodError as exc:
        raise DomainError("invalid_period", str(exc), status=422) from exc
    board = build_board(session, calendar, agencies=scope, now=now)
    stats = scoped_statistics(
        session, period, scope=scope, listed=list(catalog.agencies), calendar=calendar
    )
    total = stats.total
    ui, ns = settings.temporal_ui_public_url, settings.temporal_namespace
    ui_links = {k: temporal_ui_link(ui, ns, q) for k, q in queries(now, calendar, scope).items()}
    names = {c: a.name for c, a in catalog.agencies.items()}
    procedures = {c: p.name for c, p in catalog.procedures.items()}
    agency_rows = sorted(stats.by_agency.items())
    charts: dict[str, Any] = {
        "timeliness": {
            "type": "doughnut",
            "labels": ["Trước hạn", "Đúng hạn", "Quá hạn"],
            "values": [total.early, total.on_time, total.late],
            "colors": ["#1b7f3b", "#2b6cb0", "#c53030"],
        },
        "agencies": {
            "type": "bar",
            "labels": [names.get(c, c) for c, _ in agency_rows],
            "series": [
                {
                    "label": "Tỷ lệ đúng hạn (%)",
                    "color": "#2b6cb0",
                    "values": [round((i.on_time_rate or 0) * 100, 2) for _, i in agency_rows],
                },
                {
                    "label": "Tỷ lệ trực tuyến (%)",
                    "color": "#1b7f3b",
                    "values": [round((i.online_rate or 0) * 100, 2) for _, i in agency_rows],
                },
                {
                    "label": "Tỷ lệ đồng bộ Cổng DVC quốc gia (%)",
                    "color": "#b7791f",
                    "values": [round((i.national_sync_rate or 0) * 100, 2) for _, i in agency_rows],
                },
                {
                    "label": "Tỷ lệ trực tuyến theo QĐ 766 (%)",
                    "color": "#6b46c1",
                    "values": [round((i.online_rate_synced or 0) * 100, 2) for _, i in agency_rows],
                },
            ],
        },
    }
    context = {
        "request": request,
        "principal": principal,
        "period": period,
        "board": board,
        "total": total,
        "stats": stats,
        "agency_rows": agency_rows,
        "names": names,
        "procedures": procedures,
        "ui_links": ui_links,
        "charts": charts,
        "case_link": lambda code: f"/can-bo/ho-so/{code}",
        "ui_case_link": lambda code: temporal_ui_case_link(ui, ns, code),
        "agency": agency or "",
        "agencies": sorted(catalog.agencies.items())
        if scope is None
        else [(c, catalog.agencies[c]) for c in scope if c in catalog.agencies],
        "from_value": period.start.date().isoformat(),
        "to_value": (
            period.end.astimezone(VN_TZ)
            .date()
            .fromordinal(period.end.astimezone(VN_TZ).date().toordinal() - 1)
        ).isoformat(),
        "now": _moment(now),
        # The report form offers the last finished quarter (the one a report is due for).
        **_last_quarter(now),
    }
    return templates.TemplateResponse(request, "supervision/dashboard.html", context)


def _last_quarter(now: datetime) -> dict[str, int]:
    local = now.astimezone(VN_TZ)
    quarter = (local.month - 1) // 3  # the one before the current quarter, 0 = Q4 last year
    if quarter == 0:
        return {"report_year": local.year - 1, "report_quarter": 4}
    return {"report_year": local.year, "report_quarter": quarter}
