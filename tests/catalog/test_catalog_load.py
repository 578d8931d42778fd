"""The shipped catalog loads, every procedure is sound, filters and search work."""

from __future__ import annotations

import pytest

from dichvucong.catalog import Catalog, load_catalog
from dichvucong.catalog.loader import DEFAULT_DATA_DIR, check_procedure
from dichvucong.catalog.models import Procedure
from dichvucong.catalog.search import fold
from dichvucong.workflows.messages import StepSpec

LLTP = "ly-lich-tu-phap"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_default_load_is_cached_and_other_dir_is_fresh(catalog: Catalog) -> None:
    assert load_catalog() is catalog
    fresh = load_catalog(DEFAULT_DATA_DIR)
    assert fresh is not catalog
    assert fresh.procedures.keys() == catalog.procedures.keys()


def test_catalog_has_agencies_across_levels(catalog: Catalog) -> None:
    levels = {a.admin_level for a in catalog.agencies.values()}
    assert levels == {"province", "district", "commune"}
    assert catalog.agencies["000.00.12.H19"].name == "Sở Tư pháp tỉnh Đồng Nai"
    for agency in catalog.agencies.values():
        if agency.parent_code:
            assert agency.parent_code in catalog.agencies


def test_at_least_six_procedures_and_the_required_kinds(catalog: Catalog) -> None:
    procs = list(catalog.procedures.values())
    assert len(procs) >= 6
    assert any(p.service_level == "2" for p in procs)
    assert any(len(p.steps) > 1 and p.fee.kind != "free" and p.payment_stage == "before_result"
               and "postal" in p.delivery_options for p in procs)
    assert {p.fee.kind for p in procs} >= {"free", "fixed", "per_copy", "per_page"}


@pytest.mark.parametrize("code", sorted(load_catalog().procedures))
def test_every_procedure_is_sound(catalog: Catalog, code: str) -> None:
    p = catalog.procedures[code]
    assert check_procedure(p, catalog.agencies) == []
    assert sum(s.budget_days for s in p.steps) <= p.time_limit.in_days
    units = (p.time_limit_days is not None, p.time_limit_hours is not None, p.time_limit.same_day)
    assert units.count(True) == 1
    # a round trip through the read-model copy gives the same procedure
    assert Procedure.model_validate(p.model_dump(mode="json")) == p
    if not p.accepts_online:
        assert p.downloadable_forms and "online" not in p.delivery_options


def test_criminal_record_procedure(catalog: Catalog) -> None:
    p = catalog.procedures[LLTP]
    assert p.national_code == "2.000488"
    assert p.name.startswith("Cấp Phiếu lý lịch tư pháp")
    assert p.time_limit_days == 10 and p.time_limit_hours is None
    assert p.payment_stage == "on_submission"
    assert p.delivery_options == ["online", "postal", "counter"]
    assert p.accepts_online
    specs = p.step_specs()
    assert all(isinstance(s, StepSpec) for s in specs)
    assert [s.role for s in specs] == ["specialist", "leader", "issuer"]
    assert sum(s.budget_days for s in specs) == 10
    slot = p.slot("giay_to_tuy_than")
    assert slot is not None and slot.required and "image/jpeg" in slot.accepted_types
    assert p.slot("nope") is None


@pytest.mark.parametrize(
    "code",
    ["dang-ky-khai-sinh", "chung-thuc-ban-sao", "chung-thuc-ban-sao-nuoc-ngoai",
     "cap-ban-sao-trich-luc-ho-tich"],
)
def test_same_day_procedures_are_due_the_day_they_are_received(
    catalog: Catalog, code: str
) -> None:
    # "Ngay trong ngày; sau 15 giờ thì trong ngày làm việc tiếp theo", not 8 hours.
    p = catalog.procedures[code]
    assert p.time_limit.same_day
    assert p.time_limit_hours is None and p.time_limit_days is None
    assert "15 giờ" in p.time_limit.describe()


def test_birth_registration_is_free_and_online(catalog: Catalog) -> None:
    p = catalog.procedures["dang-ky-khai-sinh"]
    assert p.fee.kind == "free" and p.payment_stage == "none"
    assert p.service_level == "full"


def test_filters(catalog: Catalog) -> None:
    commune = catalog.search(admin_level="commune")
    assert commune and all(p.admin_level == "commune" for p in commune)
    assert {p.code for p in catalog.search(field="Hộ tịch")} >= {
        "dang-ky-khai-sinh", "dang-ky-ket-hon", "cap-ban-sao-trich-luc-ho-tich"}
    level2 = catalog.search(service_level="2")
    assert [p.service_level for p in level2] == ["2"] * len(level2) and level2
    stp = catalog.search(agency="000.00.12.H19")
    assert LLTP in {p.code for p in stp}
    assert all("000.00.12.H19" in p.agencies for p in stp)
    assert catalog.search(sector="Tư pháp", admin_level="province", q="lý lịch")[0].code == LLTP
    assert catalog.search(agency="000.00.99.H19") == []


def test_sectors_and_fields(catalog: Catalog) -> None:
    assert "Tư pháp" in catalog.sectors()
    assert {"Lý lịch tư pháp", "Hộ tịch", "Chứng thực"} <= set(catalog.fields())
    assert catalog.fields(sector="Không có") == []


@pytest.mark.parametrize("q", ["ly lich tu phap", "lý lịch", "LÝ LỊCH TƯ PHÁP", "2.000488",
                               "phieu ly lich"])
def test_search_with_or_without_diacritics(catalog: Catalog, q: str) -> None:
    assert LLTP in [p.code for p in catalog.search(q=q)]


def test_search_needs_every_word(catalog: Catalog) -> None:
    assert catalog.search(q="lý lịch kết hôn") == []
    found = {p.code for p in catalog.search(q="dang ky")}
    assert {"dang-ky-khai-sinh", "dang-ky-ket-hon"} <= found
    assert LLTP not in found
    assert [p.code for p in catalog.search(q="đăng ký khai sinh")] == ["dang-ky-khai-sinh"]


def test_fold() -> None:
    assert fold("Đăng ký KẾT HÔN") == "dang ky ket hon"
    assert fold("Chứng thực") == "chung thuc"
