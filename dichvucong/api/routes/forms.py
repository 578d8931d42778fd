"""The official forms over HTTP: Form 01 (receipt and appointment slip) for the
applicant and the agency, forms 01–05 for the agency's officials.

Full paths here; the app includes this router without a prefix.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from dichvucong.accounts.principal import Principal
from dichvucong.api.deps import CatalogDep, CurrentPrincipal, SessionDep, SettingsDep
from dichvucong.api.problems import Forbidden, NotFound
from dichvucong.api.routing import OneTripRoute
from dichvucong.catalog import Catalog
from dichvucong.db.models import Dossier
from dichvucong.dossiers.views import visible_dossier
from dichvucong.official_forms import (
    FORM_NUMBERS,
    FormNotAvailable,
    build_context,
    load_sources,
    render_pdf,
)
from dichvucong.security.audit import audit_official_read
from dichvucong.settings import Settings
from dichvucong.web.sessions import page_principal
from dichvucong.web.templating import render

router = APIRouter(include_in_schema=False, route_class=OneTripRoute)


def form_context(
    form_no: str, session: Session, dossier: Dossier, catalog: Catalog, settings: Settings
) -> dict[str, Any]:
    try:
        return build_context(
            form_no,
            load_sources(session, dossier),
            catalog,
            public_base_url=settings.public_base_url,
        )
    except FormNotAvailable as exc:
        raise NotFound("form_not_available", str(exc)) from exc


def pdf_response(form_no: str, context: dict[str, Any]) -> Response:
    name = f"mau-{form_no}-{context['dossier_code']}.pdf"
    return Response(
        render_pdf(form_no, context),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"inline; filename=\"{name}\"; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, no-store",
        },
    )


def html_response(
    request: Request, form_no: str, context: dict[str, Any], *, back_href: str, pdf_href: str
) -> Response:
    values: dict[str, Any] = {"form": context, "back_href": back_href, "pdf_href": pdf_href}
    if form_no == "01":
        values["qr_data_uri"] = segno.make(context["lookup_url"], error="m").svg_data_uri(
            scale=4, border=2
        )
    response = render(request, f"forms/form{form_no}.html", values)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def login_redirect(request: Request, login_path: str) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{login_path}?next={quote(target)}", status_code=303)


# ------------------------------------------------------------ Form 01 (both sides)


def audit_form_read(
    request: Request, principal: Principal, dossier: Dossier, form_no: str, kind: str
) -> None:
    """Every form shows the applicant's personal data: an official opening one leaves
    the same trace as opening the case (a citizen reading their own leaves none)."""
    audit_official_read(request, principal, dossier.code, "form", form=form_no, format=kind)


@router.get("/api/v1/dossiers/{code}/receipt.pdf", response_class=Response)
def receipt_pdf(
    code: str,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    catalog: CatalogDep,
    settings: SettingsDep,
) -> Response:
    dossier = visible_dossier(session, code, principal)
    context = form_context("01", session, dossier, catalog, settings)
    audit_form_read(request, principal, dossier, "01", "pdf")
    return pdf_response("01", context)


@router.get("/ho-so/{code}/phieu-hen", response_class=HTMLResponse)
def receipt_page(
    code: str, request: Request, session: SessionDep, catalog: CatalogDep, settings: SettingsDep
) -> Response:
    principal = page_principal(request)
    if principal is None:
        return login_redirect(request, "/dang-nhap")
    dossier = visible_dossier(session, code, principal)
    back = f"/ho-so/{code}" if principal.is_citizen else f"/can-bo/ho-so/{code}"
    context = form_context("01", session, dossier, catalog, settings)
    audit_form_read(request, principal, dossier, "01", "html")
    return html_response(
        request,
        "01",
        context,
        back_href=back,
        pdf_href=f"/api/v1/dossiers/{code}/receipt.pdf",
    )


# ------------------------------------------------------------ forms for officials


def _official(request: Request) -> Principal | None:
    principal = page_principal(request)
    if principal is not None and not principal.is_official:
        raise Forbidden("official_only", "Chức năng dành cho cán bộ.")
    return principal


@router.get("/can-bo/ho-so/{code}/mau/{name}", response_class=Response)
def official_form(
    code: str,
    name: str,
    request: Request,
    session: SessionDep,
    catalog: CatalogDep,
    settings: SettingsDep,
) -> Response:
    form_no, _, kind = name.partition(".")
    if form_no not in FORM_NUMBERS or kind not in ("pdf", "html"):
        raise NotFound("form_not_found", "Không có mẫu phiếu này.")
    principal = _official(request)
    if principal is None:
        return login_redirect(request, "/can-bo/dang-nhap")
    dossier = visible_dossier(session, code, principal)
    context = form_context(form_no, session, dossier, catalog, settings)
    audit_form_read(request, principal, dossier, form_no, kind)
    if kind == "pdf":
        return pdf_response(form_no, context)
    return html_response(
        request,
        form_no,
        context,
        back_href=f"/can-bo/ho-so/{code}",
        pdf_href=f"/can-bo/ho-so/{code}/mau/{form_no}.pdf",
    )
