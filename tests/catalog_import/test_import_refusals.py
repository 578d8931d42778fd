"""`dichvucong catalog import` refuses what it cannot import faithfully: a fee text
it cannot read (never published as free) and a national code twice in one file.
The rest of the import goes on; nothing is written for a refused record."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dichvucong.catalog import load_catalog
from dichvucong.catalog.importer import import_catalog, parse_fee
from dichvucong.db.engine import Database

from .test_catalog_import import LLTP, export_json, export_xlsx

UNREADABLE_FEES = [
    "Theo quy định",
    "50.000 đồng/bộ hoặc 100.000 đồng/bộ tùy trường hợp",
    "xx##??",
    "Miễn giảm theo quy định",
    "-",
]
FREE_FEES = ["Không", "Miễn phí", "Không thu phí", "Không thu phí, lệ phí.", ""]


def new_row(national: str, name: str, fee: str) -> list[str]:
    return [
        national,
        name,
        "Phổ biến giáo dục pháp luật",
        "Cấp Xã",
        "05 ngày làm việc",
        fee,
        "Ủy ban nhân dân cấp xã",
    ]


def procedure_files(data_dir: Path) -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8") for p in sorted((data_dir / "procedures").iterdir())
    }


@pytest.mark.parametrize("text", UNREADABLE_FEES)
def test_parse_fee_does_not_read_unclear_text_as_free(text: str) -> None:
    assert parse_fee(text) is None


@pytest.mark.parametrize("text", FREE_FEES)
def test_parse_fee_free_texts(text: str) -> None:
    assert parse_fee(text) == 0


def test_unreadable_fee_is_refused_not_published_as_free(
    tmp_path: Path, data_dir: Path, db: Database
) -> None:
    before = procedure_files(data_dir)
    bad = [
        new_row(f"1.00{5000 + i}", f"Thủ tục phí lạ số {i}", fee)
        for i, fee in enumerate(UNREADABLE_FEES)
    ]
    good = new_row("1.004946", "Thủ tục hòa giải viên tại cơ sở", "Không thu phí")
    paid = new_row("1.004947", "Thủ tục có lệ phí cố định", "50.000 đồng/hồ sơ")
    report = import_catalog(export_json(tmp_path, *bad, good, paid), data_dir, db=db)

    assert set(report.refused) == {row[0] for row in bad}
    for row in bad:
        assert "Phí/lệ phí" in report.refused[row[0]]
        assert repr(row[5]) in report.refused[row[0]]
    assert "Theo quy định" in report.describe()
    # the rest of the import went on
    assert report.added == ["thu-tuc-hoa-giai-vien-tai-co-so", "thu-tuc-co-le-phi-co-dinh"]
    assert report.written == report.added
    # and nothing is left behind for the refused ones
    after = procedure_files(data_dir)
    assert set(after) - set(before) == {
        "thu-tuc-hoa-giai-vien-tai-co-so.yaml",
        "thu-tuc-co-le-phi-co-dinh.yaml",
    }
    catalog = load_catalog(data_dir)
    assert not any("phi la" in p.code for p in catalog.procedures.values())
    assert catalog.procedures["thu-tuc-hoa-giai-vien-tai-co-so"].fee.kind == "free"
    fixed = catalog.procedures["thu-tuc-co-le-phi-co-dinh"].fee
    assert (fixed.kind, fixed.amount) == ("fixed", 50000)  # type: ignore[union-attr]


@pytest.mark.parametrize("fee", FREE_FEES)
def test_free_fee_texts_stay_free(tmp_path: Path, data_dir: Path, fee: str) -> None:
    row = new_row("1.004946", "Thủ tục hòa giải viên tại cơ sở", fee)
    report = import_catalog(export_json(tmp_path, row), data_dir, dry_run=True)
    assert report.refused == {} and report.added == ["thu-tuc-hoa-giai-vien-tai-co-so"]


def test_duplicate_new_national_code_is_refused(
    tmp_path: Path, data_dir: Path, db: Database
) -> None:
    before = procedure_files(data_dir)
    first = new_row("1.004946", "Thủ tục hòa giải viên tại cơ sở", "Không")
    second = new_row("1.004946", "Thủ tục công nhận tổ trưởng tổ hòa giải", "Không")
    other = new_row("1.004947", "Thủ tục thôi làm hòa giải viên", "Không")
    report = import_catalog(export_json(tmp_path, first, other, second), data_dir, db=db)

    assert set(report.refused) == {"1.004946"}
    why = report.refused["1.004946"]
    assert "trùng" in why and "1, 3" in why
    assert report.added == ["thu-tuc-thoi-lam-hoa-giai-vien"]
    after = procedure_files(data_dir)
    assert set(after) - set(before) == {"thu-tuc-thoi-lam-hoa-giai-vien.yaml"}
    national = [p.national_code for p in load_catalog(data_dir).procedures.values()]
    assert national.count("1.004946") == 0


def test_duplicate_known_national_code_changes_nothing(
    tmp_path: Path, data_dir: Path, db: Database
) -> None:
    before = procedure_files(data_dir)
    seven_days = [*LLTP[:4], "07 ngày làm việc", *LLTP[5:]]
    export = export_xlsx(tmp_path, seven_days, LLTP)
    report = import_catalog(export, data_dir, db=db, remove_missing=True)

    assert "2.000488" in report.refused and "1, 2" in report.refused["2.000488"]
    assert report.changed == {} and "ly-lich-tu-phap" not in report.unchanged
    assert "ly-lich-tu-phap" not in report.removed  # it is in the file, not missing
    after = procedure_files(data_dir)
    assert after["ly-lich-tu-phap.yaml"] == before["ly-lich-tu-phap.yaml"]
    assert load_catalog(data_dir).procedures["ly-lich-tu-phap"].time_limit.days == 10
    written = yaml.safe_load(after["ly-lich-tu-phap.yaml"])
    assert written["national_code"] == "2.000488"
