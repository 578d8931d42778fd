"""Builds the FastAPI app: JSON API under /api/v1, pages, simulators in development."""

from __future__ import annotations

from fastapi import FastAPI
from temporalio.client import Client

from dichvucong.api.problems import install_problem_handlers
from dichvucong.api.routes import auth as auth_routes
from dichvucong.api.routes import calendar as calendar_routes
from dichvucong.api.routes import callbacks as callback_routes
from dichvucong.api.routes import catalog as catalog_routes
from dichvucong.api.routes import dossiers as dossier_routes
from dichvucong.calendar import WorkCalendar
from dichvucong.catalog import load_catalog
from dichvucong.db.engine import Database
from dichvucong.documents.store import build_document_store
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
    app.state.documents = build_document_store(settings)
    app.state.temporal = temporal
    install_problem_handlers(app)
    for module in (auth_routes, calendar_routes, catalog_routes, dossier_routes, callback_routes):
        app.include_router(module.router, prefix="/api/v1")
    if settings.environment != "production":
        from dichvucong.simulators import install_simulators

        install_simulators(app, settings)
    return app
