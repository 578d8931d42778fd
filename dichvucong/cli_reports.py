"""`dichvucong report --year 2026 --quarter 4 --format xlsx --out FILE [--agency CODE]`."""

from __future__ import annotations

import argparse
import errno
import os
import sys
import time
from pathlib import Path
from typing import TextIO


class ProgressBar:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self._stream = stream or sys.stderr
        self._width = width
        self._started = time.monotonic()
        self._tty = hasattr(self._stream, "isatty") and self._stream.isatty()

    def __call__(self, done: int, total: int, label: str) -> None:
        filled = int(self._width * done / total) if total else self._width
        bar = "#" * filled + "." * (self._width - filled)
        elapsed = time.monotonic() - self._started
        line = f"[{bar}] {done}/{total} {label} ({elapsed:.1f} s)"
        if self._tty:
            self._stream.write("\r\033[K" + line + ("\n" if done >= total else ""))
        else:
            self._stream.write(line + "\n")
        self._stream.flush()


def check_writable(out: str) -> None:
    """Raises the OSError that writing ``out`` would raise, before minutes of counting
    (the CLI prints it as one line naming the path)."""
    path = Path(out)
    folder = path.parent
    if not folder.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(folder))
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(folder))


def _cmd_report(args: argparse.Namespace) -> int:
    from dichvucong.calendar import WorkCalendar
    from dichvucong.catalog import load_catalog
    from dichvucong.db.engine import Database
    from dichvucong.reports import build_report, write_csv, write_xlsx
    from dichvucong.settings import get_settings

    if args.quarter is not None and args.quarter not in (1, 2, 3, 4):
        raise ValueError("--quarter phải là 1, 2, 3 hoặc 4")
    check_writable(args.out)
    settings = get_settings()
    db = Database(settings.resolved_database_url)
    try:
        report = build_report(
            db,
            load_catalog(),
            WorkCalendar.from_settings(settings),
            args.year,
            args.quarter,
            args.agency,
            progress=ProgressBar(),
        )
    finally:
        db.dispose()
    writer = write_xlsx if args.format == "xlsx" else write_csv
    path = writer(report, args.out)
    print(f"Đã ghi báo cáo {report.period.label}: {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = sub.add_parser("report", help="quarterly / yearly report (CSV or XLSX)")
    report.add_argument("--year", type=int, required=True)
    report.add_argument("--quarter", type=int, help="1–4; omit for the whole year")
    report.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    report.add_argument("--out", required=True, help="file to write")
    report.add_argument("--agency", help="only this agency's code (no province sheet)")
    report.set_defaults(func=_cmd_report, needs_schema=True)
