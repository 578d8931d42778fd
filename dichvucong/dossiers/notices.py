"""An official's in-app notices: the ``notification`` rows addressed to their agency.

Writers address agency notices as ``agency:<agency code>:<role>`` (activities/notify.py
``recipients_of`` for case and feedback notices, scheduling's morning digest), one
row per role: an official reads the rows of their roles, each notice once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from dichvucong.accounts.principal import Principal
from dichvucong.db.models import Notification

NOTICE_LIMIT = 100
INAPP = "inapp"


@dataclass(frozen=True)
class AgencyNotice:
    code: str  # the case (dossier or feedback code, or DIGEST-<day>)
    kind: str
    subject: str
    body: str
    created_at: datetime | None
    href: str | None  # where the official acts on it; None for the digest


def agency_recipients(principal: Principal) -> list[str]:
    agency = principal.agency_code or ""
    return [f"agency:{agency}:{role}" for role in sorted(set(principal.roles))]


def notice_href(code: str, kind: str) -> str | None:
    if kind.startswith("feedback_"):
        return f"/can-bo/phan-anh/{code}"
    if code.startswith("DIGEST-"):
        return None  # many cases: their codes are in the body
    return f"/can-bo/ho-so/{code}"


def agency_notices(
    session: Session, principal: Principal, limit: int = NOTICE_LIMIT
) -> list[AgencyNotice]:
    """Newest first; a notice sent to several of the official's roles appears once."""
    recipients = agency_recipients(principal)
    if not principal.agency_code or not recipients:
        return []
    rows = session.exec(
        select(Notification)
        .where(col(Notification.recipient).in_(recipients), Notification.channel == INAPP)
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .limit(limit * len(recipients))
    ).all()
    seen: set[tuple[str, int, str]] = set()
    notices: list[AgencyNotice] = []
    for row in rows:
        key = (row.dossier_code, row.seq, row.kind)
        if key in seen:
            continue
        seen.add(key)
        notices.append(
            AgencyNotice(
                code=row.dossier_code,
                kind=row.kind,
                subject=row.subject,
                body=row.body,
                created_at=row.created_at,
                href=notice_href(row.dossier_code, row.kind),
            )
        )
        if len(notices) == limit:
            break
    return notices
