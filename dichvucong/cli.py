"""`dichvucong` command line: dev | worker | api | migrate | seed | calendar due | …"""

from __future__ import annotations

import argparse
import asyncio
import errno
import sys
from collections.abc import Sequence
from datetime import datetime

# The exit status of a failure the person at the terminal can fix (argparse's, too).
USER_ERROR = 2

# The CLI speaks Vietnamese, as its other messages; the settings keep their DVC_ names.
NOT_MIGRATED = "cơ sở dữ liệu chưa được tạo hoặc chưa cập nhật: chạy `dichvucong migrate` trước"
DATABASE_UNREACHABLE = "không kết nối được cơ sở dữ liệu: kiểm tra DVC_DATABASE_URL"
TEMPORAL_UNREACHABLE = "không kết nối được Temporal tại {address}: kiểm tra DVC_TEMPORAL_ADDRESS"
CALENDAR_AMOUNT = "«{amount}» không phải là một số ngày (hoặc giờ) làm việc, ví dụ 5 hoặc 0.5"
FILE_PROBLEMS = {
    errno.ENOENT: "không tồn tại",
    errno.ENOTDIR: "không phải là thư mục",
    errno.EISDIR: "là một thư mục, cần tên tệp",
    errno.EACCES: "không có quyền truy cập",
    errno.EPERM: "không có quyền truy cập",
    errno.EROFS: "hệ thống tệp chỉ đọc",
    errno.ENOSPC: "hết chỗ trên đĩa",
}


class CliError(Exception):
    """A failure the person at the terminal can fix: one line on stderr, no traceback."""


def _cmd_dev(_: argparse.Namespace) -> int:
    from dichvucong.devstack import run_dev

    return run_dev()


def _cmd_worker(_: argparse.Namespace) -> int:
    import uvloop

    from dichvucong.settings import get_settings
    from dichvucong.worker import TemporalUnreachable, run_worker

    # uvloop, as the API: the activity threads hand each result back to the loop, and
    # its wake-up costs less than asyncio's self-pipe (worker CPU per case -15 %, measured).
    try:
        uvloop.run(run_worker(get_settings()))
    except TemporalUnreachable as exc:
        raise CliError(TEMPORAL_UNREACHABLE.format(address=exc.address)) from exc
    return 0


def _cmd_api(args: argparse.Namespace) -> int:
    from dichvucong.settings import get_settings
    from dichvucong.web.serve import serve

    settings = get_settings()
    serve(
        host=args.host or settings.http_host,
        port=args.port or settings.http_port,
        workers=args.workers or 1,
        trusted_proxies=settings.trusted_proxies,
    )
    return 0


def _cmd_migrate(_: argparse.Namespace) -> int:
    from dichvucong.db.migrate import upgrade
    from dichvucong.settings import get_settings

    upgrade(get_settings().resolved_database_url)
    print("Đã cập nhật cơ sở dữ liệu (database migrated).")
    return 0


def _cmd_seed(_: argparse.Namespace) -> int:
    from dichvucong.seed import seed
    from dichvucong.settings import get_settings

    summary = seed(get_settings())
    print(summary.describe())
    return 0


def _cmd_calendar_due(args: argparse.Namespace) -> int:
    from dichvucong.calendar import WorkCalendar
    from dichvucong.calendar.work_calendar import SUPPORTED_YEARS, VN_TZ, YEARS_MESSAGE
    from dichvucong.settings import get_settings

    start = datetime.fromisoformat(args.start)
    if start.tzinfo is None:
        # A person typing a date on the command line means Vietnam time.
        start = start.replace(tzinfo=VN_TZ)
    try:
        amount = float(args.amount)
    except ValueError:
        raise CliError(CALENDAR_AMOUNT.format(amount=args.amount)) from None
    if start.year not in SUPPORTED_YEARS:
        raise CliError(YEARS_MESSAGE)
    calendar = WorkCalendar.from_settings(get_settings())
    if args.hours:
        due = calendar.add_working_hours(start, amount)
    elif amount.is_integer():
        due = calendar.add_working_days(start, int(amount))
    else:  # half a working day (0.5) is how some procedures state their limit
        due = calendar.add_working_days_fractional(start, amount)
    if due.year not in SUPPORTED_YEARS:  # past the holidays the calendar knows
        raise CliError(YEARS_MESSAGE)
    print(due.isoformat(timespec="minutes"))
    return 0


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from dichvucong.demo_data import generate, print_progress
    from dichvucong.settings import get_settings
    from dichvucong.temporal_client import connect

    settings = get_settings()

    async def run() -> str:
        try:
            client = await connect(settings)
        except RuntimeError as exc:  # the SDK's "Failed client connect"
            raise CliError(TEMPORAL_UNREACHABLE.format(address=settings.temporal_address)) from exc
        summary = await generate(
            settings, client, cases=args.cases, if_empty=args.if_empty, progress=print_progress
        )
        return summary.describe()

    print(asyncio.run(run()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dichvucong", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser(
        "dev", help="everything embedded: Temporal dev server + UI, worker, web app, demo data"
    ).set_defaults(func=_cmd_dev)
    sub.add_parser(
        "worker", help="run the Temporal worker against the configured server"
    ).set_defaults(func=_cmd_worker)
    api = sub.add_parser("api", help="run the web app (uvicorn)")
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    api.add_argument("--workers", type=int, default=1)
    api.set_defaults(func=_cmd_api)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_cmd_migrate)
    sub.add_parser("seed", help="load the catalog and (in development) demo accounts").set_defaults(
        func=_cmd_seed
    )

    demo = sub.add_parser("demo-data", help="development: demo cases of every kind")
    demo.add_argument("--cases", type=int, default=300)
    demo.add_argument("--if-empty", action="store_true", help="only when there is no dossier yet")
    demo.set_defaults(func=_cmd_demo_data, needs_schema=True)

    cal = sub.add_parser("calendar", help="working-day calendar")
    cal_sub = cal.add_subparsers(dest="calendar_command", required=True)
    due = cal_sub.add_parser("due", help="due moment: START plus N working days (or hours)")
    due.add_argument("start", help="ISO moment, e.g. 2025-01-24T10:00 (Vietnam time if no offset)")
    due.add_argument("amount", help="working days (or hours with --hours)")
    due.add_argument("--hours", action="store_true", help="count working hours instead of days")
    due.set_defaults(func=_cmd_calendar_due)

    _add_extension_commands(sub)
    return parser


def _add_extension_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Commands owned by other modules register themselves here."""
    from dichvucong.cli_accounts import register as register_accounts

    register_accounts(sub)
    from dichvucong.cli_reports import register as register_reports

    register_reports(sub)
    from dichvucong.cli_catalog import register as register_catalog

    register_catalog(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # Commands that read or write the read model say so (needs_schema): checked
        # before any work, not after a report has been built for nothing.
        problem = _schema_problem() if getattr(args, "needs_schema", False) else None
        if problem:
            return _fail(problem)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except (ValueError, CliError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        if exc.filename is None:  # not about a file the person named: a real fault
            raise
        return _fail(_describe_file_error(exc))


def _fail(message: str) -> int:
    print(f"dichvucong: {message}", file=sys.stderr)
    return USER_ERROR


def _describe_file_error(exc: OSError) -> str:
    reason = FILE_PROBLEMS.get(exc.errno or 0, exc.strerror or str(exc))
    return f"{exc.filename}: {reason}"


def _schema_problem() -> str | None:
    """Why the read model cannot serve a command, if it cannot: read from its
    ``alembic_version`` (as the API's readiness check does), not guessed from an error."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import SQLAlchemyError

    from dichvucong.db.engine import make_engine
    from dichvucong.db.migrate import schema_is_behind
    from dichvucong.settings import get_settings

    engine = make_engine(get_settings().resolved_database_url)
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError:  # down, refused, a URL or driver it cannot use
        return DATABASE_UNREACHABLE
    finally:
        engine.dispose()
    return NOT_MIGRATED if schema_is_behind(revision) else None


if __name__ == "__main__":
    sys.exit(main())
