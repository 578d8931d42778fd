"""Counts the fee multiplies by (copies, pages) are whole numbers: 3.5 copies is an
error for the citizen, never a fee worked out for 3."""

from __future__ import annotations

import pytest

from dichvucong.catalog import Catalog, load_catalog
from dichvucong.forms import compute_fee, validate_form
from dichvucong.forms.validation import count_fields


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_the_fee_rule_names_the_count_fields(catalog: Catalog) -> None:
    assert count_fields(catalog.procedures["ly-lich-tu-phap"]) == {"so_ban"}
    assert count_fields(catalog.procedures["chung-thuc-ban-sao"]) == {"so_ban", "so_trang"}


@pytest.mark.parametrize("value", [3.5, "3.5", "3,5", 2.000001])
def test_a_fractional_number_of_copies_is_refused(catalog: Catalog, value: object) -> None:
    _, errors = validate_form(catalog.procedures["ly-lich-tu-phap"], {"so_ban": value})
    assert errors["so_ban"] == "Số lượng Phiếu yêu cầu cấp phải là số nguyên (không có phần lẻ)"


def test_fractional_pages_are_refused_too(catalog: Catalog) -> None:
    _, errors = validate_form(catalog.procedures["chung-thuc-ban-sao"],
                              {"so_trang": "2.5", "so_ban": "1"})  # fmt: skip
    assert "phải là số nguyên" in errors["so_trang"]
    assert "so_ban" not in errors


@pytest.mark.parametrize("value", [3, 3.0, "3", "3,0", " 3 "])
def test_a_whole_number_of_copies_is_kept_as_an_int(catalog: Catalog, value: object) -> None:
    cleaned, errors = validate_form(catalog.procedures["ly-lich-tu-phap"], {"so_ban": value})
    assert "so_ban" not in errors
    assert cleaned["so_ban"] == 3 and type(cleaned["so_ban"]) is int


def test_the_fee_never_rounds_a_fraction_down(catalog: Catalog) -> None:
    procedure = catalog.procedures["ly-lich-tu-phap"]
    # 3.5 copies is unusable (the default, 1 copy), not 3 copies charged.
    assert compute_fee(procedure, {"so_ban": 3.5, "doi_tuong_phi": "khong"}).amount == 200_000
    assert compute_fee(procedure, {"so_ban": 3, "doi_tuong_phi": "khong"}).amount == 205_000
