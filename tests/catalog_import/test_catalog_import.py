"""`dichvucong catalog import`: procedures from an export of the national
procedure database (JSON / XLSX), written as the catalog's YAML files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook

from dichvucong.catalog import load_catalog
from dichvucong.catalog.importer import import_catalog, parse_fee, parse_time_limit
from dichvucong.cli import main
from dichvucong.db.engine import Database
from dichvucong.db.migrate import upgrade
from dichvucong.db.models import Dossier

HEADERS = [
    "Mã thủ tục",
    "Tên thủ tục",
    "Lĩnh vực",
    "Cấp thực hiện",
    "Thời hạn giải quyết",
    "Phí/lệ phí",
    "Cơ quan thực hiện",
]
LLTP = [
    "2.000488",
    "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại Việt Nam",
    "Lý lịch tư pháp",
    "Cấp Tỉnh",
    "10 Ngày làm việc",
    "200.000 đồng/lần/người",
    "Sở Tư pháp tỉnh Đồng Nai",
]
NEW = [
    "1.004946",
    "Thủ tục hòa giải viên tại cơ sở",
    "Phổ biến giáo dục pháp luật",
    "Cấp Xã",
    "05 ngày làm việc",
    "Không",
    "Ủy ban nhân dân cấp xã",
]


def export_json(tmp_path: Path, *rows: list[str], extra: dict[str, str] | None = None) -> Path:
    path = tmp_path / "export.json"
    items = [dict(zip(HEADERS, r, strict=True)) | (extra or {}) for r in rows]
    path.write_text(json.dumps({"data": items}, ensure_ascii=False), encoding="utf-8")
    return path


def export_xlsx(tmp_path: Path, *rows: list[str]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["DANH SÁCH THỦ TỤC HÀNH CHÍNH"])  # exports carry a title line
    sheet.append([])
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    path = tmp_path / "export.xlsx"
    book.save(path)
    return path


def test_unchanged_then_changed_then_added(tmp_path: Path, data_dir: Path, db: Database) -> None:
    report = import_catalog(export_xlsx(tmp_path, LLTP), data_dir, db=db)
    assert (report.unchanged, report.changed, report.added) == (["ly-lich-tu-phap"], {}, [])
    before = (data_dir / "procedures" / "ly-lich-tu-phap.yaml").read_text(encoding="utf-8")

    changed = [*LLTP[:4], "07 ngày làm việc", *LLTP[5:]]
    report = import_catalog(export_json(tmp_path, changed, NEW), data_dir, db=db)
    assert report.changed == {"ly-lich-tu-phap": ["time_limit"]}
    assert report.added == ["thu-tuc-hoa-giai-vien-tai-co-so"]
    assert report.refused == {}
    catalog = load_catalog(data_dir)
    lltp = catalog.procedures["ly-lich-tu-phap"]
    assert lltp.time_limit.days == 7
    assert sum(s.budget_days for s in lltp.steps) <= 7 + 1e-9  # steps shrank to fit
    assert lltp.documents and lltp.form_fields  # what is ours is kept
    after = (data_dir / "procedures" / "ly-lich-tu-phap.yaml").read_text(encoding="utf-8")
    assert after.splitlines()[0] == before.splitlines()[0]  # the header comment too
    new = catalog.procedures["thu-tuc-hoa-giai-vien-tai-co-so"]
    assert (new.national_code, new.admin_level, new.service_level) == ("1.004946", "commune", "2")
    assert new.accepts_online is False and new.time_limit.days == 5
    assert set(new.agencies) == {
        a.code for a in catalog.agencies.values() if a.admin_level == "commune"
    }

    report = import_catalog(export_json(tmp_path, changed, NEW), data_dir, db=db)
    assert report.added == [] and report.changed == {}
    assert sorted(report.unchanged) == ["ly-lich-tu-phap", "thu-tuc-hoa-giai-vien-tai-co-so"]


def test_never_removes_or_breaks_a_procedure_open_dossiers_use(
    tmp_path: Path, data_dir: Path, db: Database
) -> None:
    with db.session() as session:
        session.add(
            Dossier(
                code="D-OPEN",
                procedure_code="ly-lich-tu-phap",
                agency_code="000.00.12.H19",
                status="PROCESSING",
            )
        )
        session.add(
            Dossier(
                code="D-DONE",
                procedure_code="dang-ky-ket-hon",
                agency_code="000.21.21.H19",
                status="COMPLETED",
            )
        )
        session.commit()
    abolished = export_json(tmp_path, LLTP, extra={"Trạng thái": "Đã bãi bỏ"})
    report = import_catalog(abolished, data_dir, db=db)
    assert "ly-lich-tu-phap" in report.refused and "1 hồ sơ" in report.refused["ly-lich-tu-phap"]
    assert report.removed == []
    assert (data_dir / "procedures" / "ly-lich-tu-phap.yaml").exists()

    level_change = [*LLTP[:3], "Cấp Huyện", *LLTP[4:]]
    report = import_catalog(export_json(tmp_path, level_change), data_dir, db=db)
    assert "ly-lich-tu-phap" in report.refused
    assert load_catalog(data_dir).procedures["ly-lich-tu-phap"].admin_level == "province"

    # --remove-missing: the one with open dossiers stays, one only finished ones used goes
    report = import_catalog(export_json(tmp_path, LLTP), data_dir, db=db, remove_missing=True)
    assert "ly-lich-tu-phap" not in report.removed and "dang-ky-ket-hon" in report.removed
    assert not (data_dir / "procedures" / "dang-ky-ket-hon.yaml").exists()
    assert "ly-lich-tu-phap" in load_catalog(data_dir).procedures


def test_dry_run_writes_nothing_and_bad_rows_are_reported(
    tmp_path: Path, data_dir: Path, db: Database
) -> None:
    bad = ["12345", "Không có mã", "X", "Cấp Tỉnh", "5 ngày", "Không", "Sở Tư pháp tỉnh Đồng Nai"]
    unknown_agency = [
        "2.999999",
        "Thủ tục của sở khác",
        "Y",
        "Cấp Tỉnh",
        "5 ngày",
        "Không",
        "Sở Xây dựng",
    ]
    report = import_catalog(
        export_json(tmp_path, NEW, bad, unknown_agency), data_dir, db=db, dry_run=True
    )
    assert report.added == ["thu-tuc-hoa-giai-vien-tai-co-so"] and report.written == []
    assert set(report.refused) == {"12345", "2.999999"}
    assert len(list((data_dir / "procedures").glob("*.yaml"))) == 8


def test_cli(
    tmp_path: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DVC_VAR_DIR", str(tmp_path))
    from dichvucong.settings import get_settings

    get_settings.cache_clear()
    upgrade(f"sqlite:///{tmp_path / 'dichvucong.db'}")
    try:
        code = main(["catalog", "import", str(export_json(tmp_path, NEW)), "--into", str(data_dir)])
    finally:
        get_settings.cache_clear()
    assert code == 0
    out = capsys.readouterr().out
    assert "Thêm mới: 1" in out and "+ thu-tuc-hoa-giai-vien-tai-co-so" in out
    written = yaml.safe_load(
        (data_dir / "procedures" / "thu-tuc-hoa-giai-vien-tai-co-so.yaml").read_text(
            encoding="utf-8"
        )
    )
    assert written["national_code"] == "1.004946"


def test_column_parsing() -> None:
    assert parse_time_limit("10 Ngày làm việc kể từ ngày nhận đủ hồ sơ") == {"days": 10}
    assert parse_time_limit("08 giờ làm việc") == {"hours": 8}
    assert parse_time_limit("Trong ngày làm việc") == {"same_day": True}
    assert parse_time_limit("Theo quy định") is None
    assert parse_time_limit("1/2 ngày làm việc") == {"days": 0.5}
    assert parse_time_limit("Nửa ngày làm việc") == {"days": 0.5}
    assert parse_time_limit("Trong ngày (trước 15 giờ)") == {"same_day": True}
    assert parse_time_limit("Trong ngày, nếu nộp trước 10 giờ 30") == {"same_day": True}
    assert parse_fee("200.000 đồng/lần") == 200000
    assert parse_fee("Không") == 0 and parse_fee("Miễn phí") == 0
    assert parse_fee("2.000 đồng/trang, tối đa 200.000 đồng") is None


def test_a_same_day_procedure_stays_same_day(tmp_path: Path, data_dir: Path, db: Database) -> None:
    # The export says "Trong ngày…": the same limit as ours (same_day), not "8 hours".
    certify = [
        "2.000908",
        "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan, tổ chức có thẩm quyền "
        "của Việt Nam cấp hoặc chứng nhận",
        "Chứng thực",
        "Cấp Xã",
        "Trong ngày cơ quan tiếp nhận yêu cầu hoặc trong ngày làm việc tiếp theo nếu tiếp "
        "nhận sau 15 giờ",
        "2.000 đồng/trang; từ trang thứ ba 1.000 đồng/trang",
        "Ủy ban nhân dân cấp xã",
    ]
    report = import_catalog(export_json(tmp_path, certify), data_dir, db=db)
    assert report.unchanged == ["chung-thuc-ban-sao"] and report.changed == {}
    longer = [*certify[:4], "02 ngày làm việc", *certify[5:]]
    report = import_catalog(export_json(tmp_path, longer), data_dir, db=db)
    assert report.changed == {"chung-thuc-ban-sao": ["time_limit"]}
    limit = load_catalog(data_dir).procedures["chung-thuc-ban-sao"].time_limit
    assert (limit.days, limit.same_day) == (2, False)


def test_a_fee_that_changes_kind_is_left_for_a_person(
    tmp_path: Path, data_dir: Path, db: Database
) -> None:
    # Free <-> paid decides when the fee is paid (payment_stage) and its reductions: the
    # importer says so instead of publishing a paid procedure as free, or the reverse.
    birth = [
        "1.001193", "Đăng ký khai sinh", "Hộ tịch", "Cấp Xã", "Trong ngày", "",
        "Ủy ban nhân dân cấp xã",
    ]
    paid_birth = [*birth[:5], "8.000 đồng/bản", birth[6]]
    free_lltp = [*LLTP[:5], "Miễn phí", LLTP[6]]
    report = import_catalog(export_json(tmp_path, paid_birth, free_lltp), data_dir, db=db)
    assert set(report.review) == {"dang-ky-khai-sinh", "ly-lich-tu-phap"}
    assert "danh mục ghi miễn phí" in report.review["dang-ky-khai-sinh"]
    assert "danh mục có thu phí" in report.review["ly-lich-tu-phap"]
    assert "Cần kiểm tra bằng tay" in report.describe()
    catalog = load_catalog(data_dir)
    assert catalog.procedures["dang-ky-khai-sinh"].fee.kind == "free"
    assert catalog.procedures["ly-lich-tu-phap"].fee.kind == "per_copy"
    report = import_catalog(export_json(tmp_path, birth, LLTP), data_dir, db=db)
    assert report.review == {}  # no fee text, or the same one: nothing to check
