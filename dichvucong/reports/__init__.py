"""Quarterly and yearly reports: data, CSV, XLSX and a printable page."""

from dichvucong.reports.model import (
    NOT_COMPUTED,
    PROVINCE_SHEET,
    ROWS,
    Report,
    Row,
    Section,
    build_report,
)
from dichvucong.reports.writers import write_csv, write_xlsx

__all__ = [
    "NOT_COMPUTED",
    "PROVINCE_SHEET",
    "ROWS",
    "Report",
    "Row",
    "Section",
    "build_report",
    "write_csv",
    "write_xlsx",
]
