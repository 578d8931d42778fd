"""Builds the FastAPI app: JSON API under /api/v1, pages, simulators in development."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client

from dichvucong.api.problems import install_problem_handlers, install_unexpected_errors
from dichvucong.api.routes import audit as audit_routes
from dichvucong.api.routes import auth as auth_routes
from dichvucong.api.routes import calendar as calendar_routes
from dichvucong.api.routes import callbacks as callback_routes
from dichvucong.api.routes import catalog as catalog_routes
from dichvucong.api.routes import citizen_pages, official_pages, supervision_pages
from dichvucong.api.routes import codec as codec_routes
from dichvucong.api.routes import dossiers as dossier_routes
from dichvucong.api.routes import forms as form_routes
from dichvucong.api.routes import health as health_routes
from dichvucong.api.routes import national_sync as national_sync_routes
from dichvucong.api.routes import supervision as supervision_routes
from dichvucong.api.routes import vneid as vneid_routes
from dichvucong.calendar import WorkCalendar
from dichvucong.catalog import load_catalog
from dichvucong.db.engine import Database
from dichvucong.documents.store import build_document_store
from dichvucong.security.ratelimit import install_rate_limits
from dichvucong.settings import Settings, get_settings
from dichvucong.web.body_limit import install_body_limits
from dichvucong.web.security import install_security_headers

STATIC_DIR = Path(__file__).resolve().parent / "static"


def install_docs(app: FastAPI) -> None:
    """Swagger UI from a PyPI package: /docs works without any CDN."""
    app.mount(
        "/_docs-static",
        StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
        name="docs-static",
    )

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=app.title,
            swagger_js_url="/_docs-static/swagger-ui-bundle.js",
            swagger_css_url="/_docs-static/swagger-ui.css",
            swagger_favicon_url="/_docs-static/favicon-32x32.png",
        )


def create_app(settings: Settings | None = None, *, temporal: Client | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Cổng Dịch vụ công trực tuyến — API",
        version="1",
        description="Hồ sơ thủ tục hành chính trực tuyến. Errors are application/problem+json.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = Database(settings.resolved_database_url)
    app.state.catalog = load_catalog()
    app.state.calendar = WorkCalendar.from_settings(settings)
    app.state.documents = build_document_store(settings)
    app.state.temporal = temporal
    install_problem_handlers(app)
    install_security_headers(app)
    install_unexpected_errors(app)  # inside the headers: a 500 page carries them too
    install_docs(app)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    api_modules = (
        auth_routes,
        calendar_routes,
        catalog_routes,
        dossier_routes,
        callback_routes,
        supervision_routes,
        national_sync_routes,
        audit_routes,
    )
    for module in api_modules:
        app.include_router(module.router, prefix="/api/v1")
    for pages in (supervision_pages, citizen_pages, official_pages, form_routes, vneid_routes):
        app.include_router(pages.router)
    app.include_router(health_routes.router)  # /healthz, /readyz for the orchestrator
    # The Temporal codec server, at /codec (outside /api/v1: the UI's protocol).
    app.include_router(codec_routes.build_router(settings))
    if settings.environment != "production":
        from dichvucong.simulators import install_simulators

        install_simulators(app, settings)
    install_rate_limits(app)
    install_body_limits(app)  # innermost: its 413 goes through the problem handlers
    return app
