"""`dichvucong catalog import FILE [--into DIR] [--dry-run] [--remove-missing]`."""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_import(args: argparse.Namespace) -> int:
    from dichvucong.catalog.importer import import_catalog
    from dichvucong.db.engine import Database
    from dichvucong.settings import get_settings

    settings = get_settings()
    db = Database(settings.resolved_database_url)
    try:
        report = import_catalog(
            Path(args.file),
            Path(args.into) if args.into else None,
            db=db,
            remove_missing=args.remove_missing,
            dry_run=args.dry_run,
        )
    finally:
        db.dispose()
    print(report.describe())
    if args.dry_run:
        print("(chạy thử: chưa ghi tệp nào)")
    elif report.written or report.removed:
        print("Đã ghi danh mục; chạy `dichvucong seed` và khởi động lại để áp dụng.")
    return 1 if report.refused else 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    catalog = sub.add_parser("catalog", help="procedure catalog")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    imp = catalog_sub.add_parser(
        "import", help="import/update procedures from a national database export (JSON/XLSX)"
    )
    imp.add_argument("file", help="export of the national procedure database (.json or .xlsx)")
    imp.add_argument("--into", help="catalog folder to write (default: the package's data)")
    imp.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    imp.add_argument(
        "--remove-missing",
        action="store_true",
        help="remove procedures absent from the export (never those in use)",
    )
    imp.set_defaults(func=_cmd_import, needs_schema=True)
