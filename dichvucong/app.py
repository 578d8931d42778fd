"""Builds the FastAPI app: JSON API under /api/v1, pages, simulators in development."""

from __future__ import annotations

from fastapi import FastAPI
from temporalio.client import Client

from dichvucong.api.problems import install_problem_handlers
from dichvucong.api.routes import calendar as calendar_routes
from dichvucong.api.routes import catalog as catalog_routes
from dichvucong.api.routes import dossiers as dossier_routes
from dichvucong.calendar import WorkCalendar
from dichvucong.catalog import load_catalog
from dichvucong.db.engine import Database
from dichvucong.settings import Settings, get_settings


def create_app(settings: Settings | None = None, *, temporal: Client | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Cổng Dịch vụ công trực tuyến — API",
        version="1",
        description="Hồ sơ thủ tục hành chính trực tuyến. Errors are application/problem+json.",
    )
    app.state.settings = settings
    app.state.db = Database(settings.resolved_database_url)
    app.state.catalog = load_catalog()
    app.state.calendar = WorkCalendar.from_settings(settings)
    app.state.temporal = temporal
    install_problem_handlers(app)
    app.include_router(calendar_routes.router, prefix="/api/v1")
    app.include_router(catalog_routes.router, prefix="/api/v1")
    app.include_router(dossier_routes.router, prefix="/api/v1")
    return app
