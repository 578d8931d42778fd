"""Report files opened and checked cell by cell against the hand-counted data."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dichvucong.calendar import WorkCalendar
from dichvucong.catalog import load_catalog
from dichvucong.reports import NOT_COMPUTED, ROWS, build_report, write_csv, write_xlsx
from tests.stats.known_data import EXPECTED_A, EXPECTED_B, NOW, A, B, make_db

ROW_OF = {row.key: 6 + i for i, row in enumerate(ROWS)}  # data starts on line 6


@pytest.fixture
def report(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = make_db(tmp_path)
    seen: list[int] = []
    rep = build_report(
        db,
        load_catalog(),
        WorkCalendar(),
        2027,
        2,
        None,
        progress=lambda done, total, label: seen.append(done),
        now=NOW,
    )
    db.dispose()
    assert seen[-1] == 6
    return rep


def test_report_data(report) -> None:  # type: ignore[no-untyped-def]
    codes = [s.code for s in report.agencies]
    assert codes == sorted(load_catalog().agencies)
    assert report.province is not None and report.province.indicators.received == 11
    assert report.period.label == "Quý II năm 2027"


def test_xlsx_cell_by_cell(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_xlsx(report, tmp_path / "q2.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "Toàn tỉnh"
    assert wb.sheetnames[1:] == sorted(load_catalog().agencies)

    ws = wb["Toàn tỉnh"]
    assert ws["A1"].value == "BÁO CÁO TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
    assert ws["A2"].value == "Toàn tỉnh Đồng Nai"
    assert ws["A3"].value.startswith("Kỳ báo cáo: Quý II năm 2027")
    assert [c.value for c in ws[5]] == ["STT", "Chỉ tiêu", "Giá trị"]
    assert ws["B6"].value == "Tổng số hồ sơ tiếp nhận"
    assert ws["C6"].value == 11 and ws["C6"].number_format == "#,##0"
    on_time = ws.cell(row=ROW_OF["on_time_rate"], column=3)
    assert on_time.value == pytest.approx(5 / 7) and on_time.number_format == "0.00%"
    sat = ws.cell(row=ROW_OF["satisfaction_rate"], column=3)
    assert sat.value == pytest.approx(4 / 7) and sat.number_format == "0.00%"
    avg = ws.cell(row=ROW_OF["average_processing_days"], column=3)
    assert avg.value == pytest.approx(25.375 / 7) and avg.number_format == "0.00"
    # National sync (right after the online rate): 7 of 11 received were acknowledged.
    assert [ws.cell(row=ROW_OF["online_rate"] + i, column=2).value for i in range(1, 4)] == [
        "Số hồ sơ đã đồng bộ lên Cổng DVC quốc gia",
        "Tỷ lệ đồng bộ lên Cổng DVC quốc gia",
        "Tỷ lệ trực tuyến (tính theo Quyết định 766: × tỷ lệ đồng bộ)",
    ]
    synced = ws.cell(row=ROW_OF["national_synced"], column=3)
    assert synced.value == 7 and synced.number_format == "#,##0"
    sync_rate = ws.cell(row=ROW_OF["national_sync_rate"], column=3)
    assert sync_rate.value == pytest.approx(7 / 11) and sync_rate.number_format == "0.00%"
    online_766 = ws.cell(row=ROW_OF["online_rate_synced"], column=3)
    assert online_766.value == pytest.approx(56 / 121) and online_766.number_format == "0.00%"
    notes = [ws.cell(row=r, column=2).value for r in range(1, ws.max_row + 1)]
    assert "Chỉ tiêu chưa tính được (và lý do):" in notes
    assert all(note in notes for note in NOT_COMPUTED)

    for code, expected in ((A, EXPECTED_A), (B, EXPECTED_B)):
        sheet = wb[code]
        for key, value in expected.items():
            if key in ROW_OF:
                assert sheet.cell(row=ROW_OF[key], column=3).value == value, (code, key)
                assert sheet.cell(row=ROW_OF[key], column=1).value == ROW_OF[key] - 5
    a = wb[A]
    assert a["A2"].value == "Sở Tư pháp tỉnh Đồng Nai"
    assert a.cell(row=ROW_OF["online_rate"], column=3).value == pytest.approx(0.7)
    assert a.cell(row=ROW_OF["national_synced"], column=3).value == 6
    assert a.cell(row=ROW_OF["national_sync_rate"], column=3).value == pytest.approx(0.6)
    assert a.cell(row=ROW_OF["online_rate_synced"], column=3).value == pytest.approx(0.42)
    b = wb[B]
    assert b.cell(row=ROW_OF["national_sync_rate"], column=3).value == pytest.approx(1.0)
    assert b.cell(row=ROW_OF["online_rate_synced"], column=3).value == pytest.approx(1.0)
    assert a.cell(row=ROW_OF["digitised_rate"], column=3).value == pytest.approx(0.6)
    assert a.cell(row=ROW_OF["average_processing_days"], column=3).value == pytest.approx(4.125)
    # an agency with no dossiers: counts 0, rates left blank
    empty = wb["000.00.22.H19"]
    assert empty.cell(row=ROW_OF["received"], column=3).value == 0
    assert empty.cell(row=ROW_OF["on_time_rate"], column=3).value is None
    assert empty.cell(row=ROW_OF["national_synced"], column=3).value == 0
    assert empty.cell(row=ROW_OF["national_sync_rate"], column=3).value is None
    assert empty.cell(row=ROW_OF["online_rate_synced"], column=3).value is None


def test_csv_cell_by_cell(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(report, tmp_path / "q2.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the accents
    with path.open(encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    header = lines[0]
    assert header[:4] == ["Mã cơ quan", "Tên cơ quan", "Kỳ báo cáo", "Tổng số hồ sơ tiếp nhận"]
    assert "Tỷ lệ giải quyết trước hạn và đúng hạn (%)" in header
    by_code = {line[0]: dict(zip(header, line, strict=True)) for line in lines[1:]}
    assert len(lines) == 1 + len(load_catalog().agencies) + 1
    province = by_code[""]
    assert province["Tên cơ quan"] == "Toàn tỉnh Đồng Nai"
    assert province["Tổng số hồ sơ tiếp nhận"] == "11"
    assert province["Tỷ lệ giải quyết trước hạn và đúng hạn (%)"] == "71.43"
    assert province["Mức độ hài lòng (100% − tỷ lệ quá hạn − tỷ lệ có phản ánh) (%)"] == "57.14"
    assert province["Số hồ sơ đã đồng bộ lên Cổng DVC quốc gia"] == "7"
    assert province["Tỷ lệ đồng bộ lên Cổng DVC quốc gia (%)"] == "63.64"  # 7/11
    online_766 = "Tỷ lệ trực tuyến (tính theo Quyết định 766: × tỷ lệ đồng bộ) (%)"
    assert province[online_766] == "46.28"  # 8/11 × 7/11 = 56/121
    a = by_code[A]
    assert a["Kỳ báo cáo"] == "Quý II năm 2027"
    assert a["Tiếp nhận trực tuyến"] == "7"
    assert a["Thời gian giải quyết trung bình (ngày làm việc)"] == "4.12"  # 4.125 rounds half-even
    assert a["Trong đó: quá hạn"] == "1"
    assert a["Số hồ sơ đã đồng bộ lên Cổng DVC quốc gia"] == "6"
    assert a["Tỷ lệ đồng bộ lên Cổng DVC quốc gia (%)"] == "60.00"
    assert a[online_766] == "42.00"  # 70 % × 60 %
    assert by_code[B]["Tỷ lệ đồng bộ lên Cổng DVC quốc gia (%)"] == "100.00"
    assert by_code[B][online_766] == "100.00"
    empty = by_code["000.00.22.H19"]
    assert empty["Tỷ lệ hồ sơ trực tuyến (%)"] == ""
    assert empty["Số hồ sơ đã đồng bộ lên Cổng DVC quốc gia"] == "0"
    assert empty["Tỷ lệ đồng bộ lên Cổng DVC quốc gia (%)"] == ""
    assert empty[online_766] == ""


def test_one_agency_only(tmp_path: Path) -> None:
    db = make_db(tmp_path)
    rep = build_report(db, load_catalog(), WorkCalendar(), 2027, None, B, now=NOW)
    db.dispose()
    assert rep.province is None and [s.code for s in rep.agencies] == [B]
    assert rep.period.label == "Năm 2027"
    wb = load_workbook(write_xlsx(rep, tmp_path / "b.xlsx"))
    assert wb.sheetnames == [B]
    with pytest.raises(ValueError):
        build_report(make_db(tmp_path / "x"), load_catalog(), WorkCalendar(), 2027, 2, "nope")


def test_cli_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dichvucong.cli_reports import register
    from dichvucong.settings import get_settings

    db = make_db(tmp_path)
    db.dispose()
    monkeypatch.setenv("DVC_DATABASE_URL", db.url)
    get_settings.cache_clear()
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    out = tmp_path / "bao-cao.xlsx"
    args = parser.parse_args(
        ["report", "--year", "2027", "--quarter", "2", "--format", "xlsx", "--out", str(out)]
    )
    try:
        assert args.func(args) == 0
    finally:
        get_settings.cache_clear()
    captured = capsys.readouterr()
    assert "Quý II năm 2027" in captured.out
    assert "6/6" in captured.err and "[" in captured.err  # the progress bar
    assert load_workbook(out)["Toàn tỉnh"]["C6"].value == 11
