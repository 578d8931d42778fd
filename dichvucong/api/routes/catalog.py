"""Public catalog: procedures (every component the regulation says to show) and agencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dichvucong.api.deps import CatalogDep
from dichvucong.api.problems import NotFound
from dichvucong.api.routing import OneTripRoute
from dichvucong.catalog.loader import Catalog
from dichvucong.catalog.models import (
    AdminLevel,
    Agency,
    DeliveryOption,
    DocumentSlot,
    DownloadableForm,
    FeeRule,
    FormField,
    PaymentStageName,
    Procedure,
    ProcessingStep,
    ServiceLevel,
    TimeLimit,
)

router = APIRouter(tags=["catalog"], route_class=OneTripRoute)


class AgencyPublic(BaseModel):
    code: str
    name: str
    admin_level: AdminLevel
    parent_code: str | None = None


class AgencyList(BaseModel):
    items: list[AgencyPublic]


class ProcedureSummary(BaseModel):
    code: str
    national_code: str | None
    name: str
    sector: str
    field: str
    admin_level: AdminLevel
    service_level: ServiceLevel
    accepts_online: bool
    time_limit: TimeLimit
    time_limit_text: str = Field(description="e.g. '10 ngày làm việc'")
    fee_text: str = Field(description="e.g. '200.000 đ (gồm 2 bản); ...'")
    agencies: list[str]


class ProcedureList(BaseModel):
    items: list[ProcedureSummary]
    total: int


class DownloadableFormLink(DownloadableForm):
    url: str = Field(description="The printable blank form (PDF), e.g. /thu-tuc/CODE/bieu-mau/1.pdf")


class ProcedureDetail(ProcedureSummary):
    agency_details: list[AgencyPublic]
    legal_basis: list[str]
    fee: FeeRule
    documents: list[DocumentSlot]
    form_fields: list[FormField]
    steps: list[ProcessingStep]
    payment_stage: PaymentStageName
    delivery_options: list[DeliveryOption]
    result_description: str
    downloadable_forms: list[DownloadableFormLink]


def _agency(agency: Agency) -> AgencyPublic:
    return AgencyPublic(
        code=agency.code,
        name=agency.name,
        admin_level=agency.admin_level,
        parent_code=agency.parent_code,
    )


def _summary_fields(p: Procedure) -> dict[str, object]:
    return dict(
        code=p.code,
        national_code=p.national_code,
        name=p.name,
        sector=p.sector,
        field=p.field,
        admin_level=p.admin_level,
        service_level=p.service_level,
        accepts_online=p.accepts_online,
        time_limit=p.time_limit,
        time_limit_text=p.time_limit.describe(),
        fee_text=p.fee.describe(),
        agencies=list(p.agencies),
    )


def _detail(p: Procedure, catalog: Catalog) -> ProcedureDetail:
    return ProcedureDetail(
        **_summary_fields(p),  # type: ignore[arg-type]
        agency_details=[_agency(a) for a in catalog.agencies_of(p)],
        legal_basis=list(p.legal_basis),
        fee=p.fee,
        documents=list(p.documents),
        form_fields=list(p.form_fields),
        steps=list(p.steps),
        payment_stage=p.payment_stage,
        delivery_options=list(p.delivery_options),
        result_description=p.result_description,
        downloadable_forms=[
            DownloadableFormLink(**f.model_dump(), url=f"/thu-tuc/{p.code}/bieu-mau/{n}.pdf")
            for n, f in enumerate(p.downloadable_forms, start=1)
        ],
    )


@router.get("/procedures", response_model=ProcedureList, summary="Danh sách thủ tục hành chính")
def list_procedures(
    catalog: CatalogDep,
    admin_level: AdminLevel | None = None,
    sector: str | None = None,
    field: str | None = None,
    service_level: ServiceLevel | None = None,
    agency: str | None = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Từ khóa, có dấu hoặc không dấu")
    ] = None,
) -> ProcedureList:
    found = catalog.search(
        q=q,
        admin_level=admin_level,
        sector=sector,
        field=field,
        service_level=service_level,
        agency=agency,
    )
    items = [ProcedureSummary(**_summary_fields(p)) for p in found]  # type: ignore[arg-type]
    return ProcedureList(items=items, total=len(items))


@router.get(
    "/procedures/{code}", response_model=ProcedureDetail, summary="Chi tiết thủ tục hành chính"
)
def get_procedure(code: str, catalog: CatalogDep) -> ProcedureDetail:
    procedure = catalog.procedures.get(code)
    if procedure is None:
        raise NotFound("procedure_not_found", f"Không tìm thấy thủ tục có mã {code!r}.")
    return _detail(procedure, catalog)


@router.get("/agencies", response_model=AgencyList, summary="Danh sách cơ quan giải quyết")
def list_agencies(catalog: CatalogDep, admin_level: AdminLevel | None = None) -> AgencyList:
    items = [
        _agency(a)
        for a in catalog.agencies.values()
        if admin_level is None or a.admin_level == admin_level
    ]
    return AgencyList(items=items)
