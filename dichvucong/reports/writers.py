"""CSV and XLSX files of a report (Vietnamese headers, number formats)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from dichvucong.calendar.work_calendar import VN_TZ
from dichvucong.reports.model import Report, Row, Section

CSV_FIXED_HEADERS = ("Mã cơ quan", "Tên cơ quan", "Kỳ báo cáo")
NUMBER_FORMATS = {"int": "#,##0", "percent": "0.00%", "days": "0.00"}
SHEET_HEADERS = ("STT", "Chỉ tiêu", "Giá trị")


def csv_header(row: Row) -> str:
    return f"{row.label.strip(' -')} (%)" if row.kind == "percent" else row.label.strip(" -")


def csv_value(row: Row, value: float | int | None) -> str:
    """Percent as a number of percent with two decimals (97.89), days with two decimals."""
    if value is None:
        return ""
    if row.kind == "percent":
        return f"{value * 100:.2f}"
    if row.kind == "days":
        return f"{value:.2f}"
    return str(int(value))


def write_csv(report: Report, path: str | Path) -> Path:
    """One line per agency, then the province; UTF-8 with BOM so Excel reads the accents."""
    path = Path(path)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*CSV_FIXED_HEADERS, *(csv_header(r) for r in report.rows)])
        for section in [*report.agencies, *([report.province] if report.province else [])]:
            writer.writerow(
                [
                    section.code if section is not report.province else "",
                    section.name,
                    report.period.label,
                    *(csv_value(r, section.value(r)) for r in report.rows),
                ]
            )
    return path


def sheet_title(section: Section) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "-", section.code)[:31]


def write_xlsx(report: Report, path: str | Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    path = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    generated = report.generated_at.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
    for section in report.sections:
        ws = wb.create_sheet(sheet_title(section))
        ws["A1"] = report.title
        ws["A1"].font = Font(bold=True, size=13)
        ws["A2"] = section.name
        ws["A2"].font = bold
        ws["A3"] = f"Kỳ báo cáo: {report.period.label} — lập lúc {generated}"
        ws.append([])
        ws.append(list(SHEET_HEADERS))
        header_row = ws.max_row
        for cell in ws[header_row]:
            cell.font, cell.fill = bold, header_fill
            cell.alignment = Alignment(horizontal="center")
        for index, row in enumerate(report.rows, start=1):
            ws.append([index, row.label, section.value(row)])
            cell = ws.cell(row=ws.max_row, column=3)
            cell.number_format = NUMBER_FORMATS[row.kind]
        if section is report.province or report.province is None:
            ws.append([])
            ws.append(["", "Chỉ tiêu chưa tính được (và lý do):"])
            ws.cell(row=ws.max_row, column=2).font = bold
            for note in report.notes:
                ws.append(["", note])
        for column, width in zip((1, 2, 3), (6, 70, 16), strict=True):
            ws.column_dimensions[get_column_letter(column)].width = width
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    wb.save(path)
    return path
