"""compute_fee on the shipped procedures: amounts in whole VND."""

from __future__ import annotations

import pytest

from dichvucong.catalog import Catalog, load_catalog
from dichvucong.forms import Fee, FeeLine, compute_fee


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _fee(catalog: Catalog, code: str, **form: object) -> Fee:
    return compute_fee(catalog.procedures[code], form)


def test_criminal_record_two_copies_cost_the_base(catalog: Catalog) -> None:
    fee = _fee(catalog, "ly-lich-tu-phap", so_ban=2, doi_tuong_phi="khong")
    assert fee.amount == 200_000
    assert fee.lines == [FeeLine(label="Phí cung cấp thông tin lý lịch tư pháp (2 bản)",
                                 amount=200_000)]


def test_criminal_record_four_copies_add_5000_each_beyond_two(catalog: Catalog) -> None:
    fee = _fee(catalog, "ly-lich-tu-phap", so_ban=4, doi_tuong_phi="khong")
    assert fee.amount == 210_000
    assert [line.amount for line in fee.lines] == [200_000, 10_000]
    assert fee.lines[1].label == "Từ bản thứ 3: 2 bản × 5.000 đ"


def test_criminal_record_reduced_and_exempt(catalog: Catalog) -> None:
    assert _fee(catalog, "ly-lich-tu-phap", so_ban=1, doi_tuong_phi="giam").amount == 100_000
    assert _fee(catalog, "ly-lich-tu-phap", so_ban=3, doi_tuong_phi="giam").amount == 105_000
    exempt = _fee(catalog, "ly-lich-tu-phap", so_ban=5, doi_tuong_phi="mien")
    assert exempt.amount == 0 and len(exempt.lines) == 1 and "Miễn phí" in exempt.lines[0].label


@pytest.mark.parametrize(
    ("pages", "copies", "amount"),
    [
        (1, 1, 2_000),
        (2, 1, 4_000),
        (3, 1, 5_000),
        (10, 2, 2 * 12_000),
        (198, 1, 200_000),  # 4.000 + 196 × 1.000 = 200.000, exactly the cap
        (500, 1, 200_000),  # capped
        (500, 3, 600_000),  # the cap is per copy
    ],
)
def test_certified_copy_per_page_with_cap(catalog: Catalog, pages: int, copies: int,
                                          amount: int) -> None:
    fee = _fee(catalog, "chung-thuc-ban-sao", so_trang=pages, so_ban=copies)
    assert fee.amount == amount
    assert fee.amount == sum(line.amount for line in fee.lines)


def test_capped_line_says_so(catalog: Catalog) -> None:
    fee = _fee(catalog, "chung-thuc-ban-sao", so_trang=500, so_ban=1)
    assert "tối đa 200.000 đ/bản" in fee.lines[0].label


def test_civil_status_extract_8000_per_copy(catalog: Catalog) -> None:
    assert _fee(catalog, "cap-ban-sao-trich-luc-ho-tich", so_ban=1).amount == 8_000
    assert _fee(catalog, "cap-ban-sao-trich-luc-ho-tich", so_ban=3).amount == 24_000


def test_fixed_fee(catalog: Catalog) -> None:
    fee = _fee(catalog, "dang-ky-hoat-dong-van-phong-cong-chung")
    assert fee.amount == 1_000_000 and len(fee.lines) == 1


@pytest.mark.parametrize("code", ["dang-ky-khai-sinh", "dang-ky-ket-hon",
                                  "dang-ky-trung-tam-tu-van-phap-luat"])
def test_free_procedures(catalog: Catalog, code: str) -> None:
    fee = _fee(catalog, code)
    assert fee.amount == 0 and fee.lines == [] and fee.is_free


def test_missing_counts_default_to_one(catalog: Catalog) -> None:
    assert _fee(catalog, "cap-ban-sao-trich-luc-ho-tich").amount == 8_000
    assert _fee(catalog, "chung-thuc-ban-sao", so_trang="x", so_ban=None).amount == 2_000


def test_fee_lines_are_plain_dicts(catalog: Catalog) -> None:
    fee = _fee(catalog, "ly-lich-tu-phap", so_ban=3, doi_tuong_phi="khong")
    assert fee.line_dicts() == [
        {"label": "Phí cung cấp thông tin lý lịch tư pháp (2 bản)", "amount": 200_000},
        {"label": "Từ bản thứ 3: 1 bản × 5.000 đ", "amount": 5_000},
    ]
