"""Notices about a dossier: to the citizen on every status change, to the
agency's officials for late reception, at-risk and overdue cases.

One row per (dossier, transition, channel, recipient): a retried activity finds
the row and sends nothing twice. The in-app list is the channel every notice
reaches; email and SMS adapters plug in as ``channels``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from temporalio import activity

from dichvucong.activities.contracts import NotifyRequest
from dichvucong.db.engine import Database
from dichvucong.db.models import Notification, utcnow
from dichvucong.workflows import texts

log = logging.getLogger("dichvucong.notify")

# Attempts at an outside channel (SMTP, SMS gateway) before a notice is given up.
MAX_SEND_ATTEMPTS = 3

SUBJECTS: dict[str, str] = {
    "status_changed": "Hồ sơ {code}: {status}",
    "reception_late": "Hồ sơ {code} quá hạn tiếp nhận",
    "at_risk": "Hồ sơ {code} sắp đến hạn trả kết quả",
    "overdue": "Hồ sơ {code} đã quá hạn",
    "payment_reminder": "Nhắc nộp phí, lệ phí hồ sơ {code}",
    "payment_expired": "Hết hạn thanh toán trực tuyến hồ sơ {code}",
}

BODIES: dict[str, str] = {
    "status_changed": "Hồ sơ {code} ({procedure}) chuyển sang trạng thái «{status}».{due}{items}{note}",
    "reception_late": "Hồ sơ {code} ({procedure}) chờ tiếp nhận quá thời hạn quy định.",
    "at_risk": "Hồ sơ {code} ({procedure}) sẽ đến hạn trả kết quả lúc {due_at}. "
    "Nếu không kịp, cần báo cáo và gửi thư xin lỗi, hẹn lại ngày trả.",
    "overdue": "Hồ sơ {code} ({procedure}) đã quá hạn trả kết quả ({due_at}).",
    "payment_reminder": "Hồ sơ {code} đang chờ nộp phí, lệ phí. Vui lòng thanh toán để hồ sơ được giải quyết.",
    "payment_expired": "Liên kết thanh toán hồ sơ {code} đã hết hạn. Bạn có thể tạo thanh toán mới hoặc nộp tại quầy.",
}


@dataclass
class OutgoingMessage:
    dossier_code: str
    seq: int
    recipient: str
    kind: str
    subject: str
    body: str
    citizen_id: int | None


class Channel(Protocol):
    """An outside channel (email, SMS). ``name`` keys idempotency rows."""

    name: str

    def send(self, message: OutgoingMessage) -> None: ...


def compose(request: NotifyRequest) -> tuple[str, str]:
    values = {
        "code": request.dossier_code,
        "procedure": request.procedure_name,
        "status": texts.status_label(request.status),
        "due_at": texts.fmt_moment(request.due_at),
        "due": f" Hẹn trả kết quả: {texts.fmt_moment(request.due_at)}." if request.due_at else "",
        "items": (" Cần bổ sung: " + "; ".join(request.items) + ".") if request.items else "",
        "note": f" Ghi chú: {request.note}" if request.note else "",
    }
    return SUBJECTS[request.kind].format(**values), BODIES[request.kind].format(**values)


def recipients(request: NotifyRequest) -> list[str]:
    return recipients_of(
        request.audience,
        citizen_id=request.citizen_id,
        agency_code=request.agency_code,
        roles=request.roles,
    )


def recipients_of(
    audience: str, *, citizen_id: int | None, agency_code: str, roles: Sequence[str]
) -> list[str]:
    if audience == "citizen":
        return [f"citizen:{citizen_id}"] if citizen_id is not None else []
    return [f"agency:{agency_code}:{role}" for role in sorted(set(roles))]


class Dispatcher:
    """Delivers messages once per (case, transition, channel, recipient): the in-app
    row always, then every outside channel. Shared by dossier and feedback notices."""

    def __init__(self, db: Database, channels: Sequence[Channel] = ()) -> None:
        self._db = db
        self._channels = list(channels)

    def deliver(self, message: OutgoingMessage) -> int:
        """Returns how many new messages were created (0 on a retry).

        Every channel is tried, each on its own (a mail server down must not keep the SMS
        back). A failed send gives back its claim and fails the attempt, so the retry
        sends it; after MAX_SEND_ATTEMPTS the notice is logged as undelivered and the
        case goes on: the in-app notice is there, and an outside outage must not hold
        every case at its next transition. The adapters pass (case, seq, channel) as
        their own idempotency key, which covers a send that timed out after delivery."""
        claimed = self._claim(message, ["inapp", *(c.name for c in self._channels)])
        created = 1 if "inapp" in claimed else 0
        failures: dict[str, Exception] = {}
        for channel in (c for c in self._channels if c.name in claimed):
            try:
                channel.send(message)
            except Exception as exc:
                failures[channel.name] = exc
            else:
                created += 1
        if failures:
            self._release(message, list(failures))
            attempt = activity.info().attempt if activity.in_activity() else 1
            if attempt < MAX_SEND_ATTEMPTS:
                raise next(iter(failures.values()))
            for name, exc in failures.items():
                log.error(
                    "notice_undelivered dossier=%s seq=%s channel=%s error=%s attempts=%s",
                    message.dossier_code, message.seq, name, type(exc).__name__, attempt,
                )  # fmt: skip
        return created

    def _claim(self, message: OutgoingMessage, channels: list[str]) -> set[str]:
        """Claims every channel's row in one transaction (one commit per notice, not
        one per channel); returns the channels claimed now, not by an earlier attempt."""
        key = {"c": message.dossier_code, "s": message.seq, "r": message.recipient}
        for _ in range(3):
            with self._db.session() as session:
                conn = session.connection()
                taken = set(conn.scalars(_CLAIMED, key))
                fresh = {c for c in channels if c not in taken}
                if fresh:
                    now = utcnow()
                    conn.execute(_CLAIM, [
                        {"dossier_code": message.dossier_code, "seq": message.seq,
                         "channel": channel, "recipient": message.recipient,
                         "kind": message.kind, "subject": message.subject,
                         "body": message.body, "created_at": now}
                        for channel in fresh])  # fmt: skip
                try:
                    session.commit()
                except IntegrityError:
                    # A concurrent attempt of the same notice claimed some: look again.
                    session.rollback()
                    continue
                return fresh
        return set()

    def _release(self, message: OutgoingMessage, channels: list[str]) -> None:
        with self._db.session() as session:
            session.connection().execute(_RELEASE, {
                "c": message.dossier_code, "s": message.seq, "r": message.recipient,
                "channels": channels})  # fmt: skip
            session.commit()


_notices: Table = Notification.__table__  # type: ignore[attr-defined]
# Built once, values bound at execution: a notice is written at every transition.
_CLAIMED = select(_notices.c.channel).where(
    _notices.c.dossier_code == bindparam("c"), _notices.c.seq == bindparam("s"),
    _notices.c.recipient == bindparam("r"))  # fmt: skip
_CLAIM = insert(_notices)
_RELEASE = delete(_notices).where(
    _notices.c.dossier_code == bindparam("c"), _notices.c.seq == bindparam("s"),
    _notices.c.recipient == bindparam("r"),
    _notices.c.channel.in_(bindparam("channels", expanding=True)))  # fmt: skip


class NotifyActivities:
    def __init__(self, db: Database, channels: Sequence[Channel] = ()) -> None:
        self._dispatcher = Dispatcher(db, channels)

    @activity.defn(name="notify")
    def notify(self, request: NotifyRequest) -> int:
        """Returns how many new messages were created (0 on a retry)."""
        subject, body = compose(request)
        return sum(
            self._dispatcher.deliver(
                OutgoingMessage(
                    request.dossier_code,
                    request.seq,
                    recipient,
                    request.kind,
                    subject,
                    body,
                    request.citizen_id,
                )
            )
            for recipient in recipients(request)
        )
