"""`dichvucong create-official`."""

from __future__ import annotations

import argparse


def _create_official(args: argparse.Namespace) -> int:
    from dichvucong.accounts.officials import create_official
    from dichvucong.catalog import load_catalog
    from dichvucong.db.engine import Database
    from dichvucong.settings import get_settings

    catalog = load_catalog()
    if args.agency not in catalog.agencies:
        raise ValueError(f"unknown agency code {args.agency!r}")
    db = Database(get_settings().resolved_database_url)
    with db.session() as session:
        official = create_official(
            session=session,
            username=args.username,
            password=args.password,
            agency_code=args.agency,
            roles=args.role,
            full_name=args.full_name,
        )
    print(
        f"created official {official.username} ({', '.join(official.roles)}) at {official.agency_code}"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("create-official", help="create an official account")
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--agency", required=True, help="agency code")
    p.add_argument("--role", action="append", required=True, help="role (repeatable)")
    p.add_argument("--full-name")
    p.set_defaults(func=_create_official, needs_schema=True)
