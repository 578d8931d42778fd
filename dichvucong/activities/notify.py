"""Notices about a dossier: to the citizen on every status change, to the
agency's officials for late reception, at-risk and overdue cases.

One row per (dossier, transition, channel, recipient): a retried activity finds
the row and sends nothing twice. The in-app list is the channel every notice
reaches; email and SMS adapters plug in as ``channels``.

An outside channel's row goes through two states: ``in_flight`` is a claim,
``created_at`` its time, taken by the attempt about to send; cleared, the message
went out. Order: claim, send, mark sent at once. A send is bounded to a share of the
attempt's timeout, so an attempt whose server is slow fails in time to give its claim
back, and the retry sends (an attempt that timed out mid-send used to keep its claim
and lose the email). A claim older than the attempt timeout belongs to an attempt
that died (a worker killed): it may have sent, its mark not committed. That message
counts as sent, logged as ``notice_maybe_sent``: the portal never mails twice (the
worker-kill drill counts every Message-ID on the SMTP server), and the in-app notice
is there either way.

A notice's text is written and sent without NUL characters (PostgreSQL refuses them in
text): a note already in a workflow's history must not fail this activity for ever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from temporalio import activity
from temporalio.exceptions import CancelledError

from dichvucong.activities.contracts import NotifyRequest
from dichvucong.activities.records import NUL, without_nul
from dichvucong.db.engine import Database
from dichvucong.db.models import Notification, utcnow
from dichvucong.workflows import texts

log = logging.getLogger("dichvucong.notify")

# Attempts at an outside channel (SMTP, SMS gateway) before a notice is given up.
MAX_SEND_ATTEMPTS = 3
# How long a claim protects a send when no activity timeout says (a direct call).
DEFAULT_CLAIM_LEASE = timedelta(minutes=1)
# Share of the attempt's timeout the outside sends may use: the rest leaves time to
# mark or give back the claims and fail the attempt before Temporal times it out.
SEND_SHARE = 2 / 3

SUBJECTS: dict[str, str] = {
    "status_changed": "Hồ sơ {code}: {status}",
    "reception_late": "Hồ sơ {code} quá hạn tiếp nhận",
    "at_risk": "Hồ sơ {code} sắp đến hạn trả kết quả",
    "overdue": "Hồ sơ {code} đã quá hạn",
    "payment_reminder": "Nhắc nộp phí, lệ phí hồ sơ {code}",
    "payment_expired": "Hết hạn thanh toán trực tuyến hồ sơ {code}",
    "apology": "Thư xin lỗi và hẹn lại ngày trả kết quả hồ sơ {code}",
}

BODIES: dict[str, str] = {
    "status_changed": "Hồ sơ {code} ({procedure}) chuyển sang trạng thái «{status}».{due}{items}{note}",
    "reception_late": "Hồ sơ {code} ({procedure}) chờ tiếp nhận quá thời hạn quy định.",
    "at_risk": "Hồ sơ {code} ({procedure}) sẽ đến hạn trả kết quả lúc {due_at}. "
    "Nếu không kịp, cần báo cáo và gửi thư xin lỗi, hẹn lại ngày trả.",
    "overdue": "Hồ sơ {code} ({procedure}) đã quá hạn trả kết quả ({due_at}).",
    "payment_reminder": "Hồ sơ {code} đang chờ nộp phí, lệ phí. Vui lòng thanh toán để hồ sơ được giải quyết.",
    "payment_expired": "Liên kết thanh toán hồ sơ {code} đã hết hạn. Bạn có thể tạo thanh toán mới hoặc nộp tại quầy.",
    # Decree 61/2018, art. 19: an apology in writing, with the reason and the new date.
    "apology": "Cơ quan giải quyết chân thành xin lỗi Ông/Bà vì hồ sơ {code} ({procedure}) "
    "chưa có kết quả đúng hẹn.{reason} Ngày hẹn trả kết quả mới: {due_at}.",
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
    # What the notice is about, for the channels' own wording (the SMS's status words,
    # the email's "what to do", its list of missing documents and its deadline): never
    # guessed from the body, which quotes the officials' free text.
    status: str | None = None
    items: list[str] = field(default_factory=list)
    due_at: datetime | None = None


class Channel(Protocol):
    """An outside channel (email, SMS). ``name`` keys idempotency rows.

    ``deadline`` (a ``time.monotonic()`` value) bounds the whole send: past it the
    channel must give up with an exception, having sent nothing it can avoid."""

    name: str

    def send(self, message: OutgoingMessage, *, deadline: float | None = None) -> None: ...


class ClaimHeld(RuntimeError):
    """Another attempt holds a channel's claim and may still be sending: the retry
    looks again once that claim is sent, given back or stale."""


def claim_lease() -> timedelta:
    """How long an attempt may hold a claim: its own timeout (every attempt of the
    activity has the same one)."""
    if activity.in_activity():
        info = activity.info()
        timeout = info.start_to_close_timeout or info.schedule_to_close_timeout
        if timeout:
            return timeout
    return DEFAULT_CLAIM_LEASE


def send_deadline(lease: timedelta) -> float:
    """The monotonic moment the outside sends of this attempt must end by: a share of
    the lease, less what the attempt has already spent when its start time is
    believable (a test environment's is the epoch; another host's clock may be off)."""
    budget = lease.total_seconds() * SEND_SHARE
    if activity.in_activity():
        spent = (datetime.now(UTC) - activity.info().started_time).total_seconds()
        if 0 <= spent <= lease.total_seconds():
            budget -= spent
    return time.monotonic() + max(budget, 0.0)


@dataclass
class _Claims:
    """What one attempt took: the in-app row, the outside channels it may send (all
    under the claim time ``token``), and those another attempt still holds."""

    token: datetime
    inapp: bool = False
    outside: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)


def compose(request: NotifyRequest) -> tuple[str, str]:
    values = {
        "code": request.dossier_code,
        "procedure": request.procedure_name,
        "status": texts.status_label(request.status),
        "due_at": texts.fmt_moment(request.due_at),
        "due": f" Hẹn trả kết quả: {texts.fmt_moment(request.due_at)}." if request.due_at else "",
        "items": (" Cần bổ sung: " + "; ".join(request.items) + ".") if request.items else "",
        "note": f" Ghi chú: {request.note}" if request.note else "",
        "reason": f" Lý do: {request.note}." if request.note else "",
    }
    return SUBJECTS[request.kind].format(**values), BODIES[request.kind].format(**values)


# Recipient forms: "citizen:<id>" (an account), "agency:<code>:<role>" (officials), and
# "contact:<feedback code>" (whoever sent feedback without an account). The last names
# the feedback, not the address: the channel reads the address from the feedback row, so
# no email or phone number enters an activity input or the workflow's history.
CITIZEN_PREFIX = "citizen:"
CONTACT_PREFIX = "contact:"


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
        return [f"{CITIZEN_PREFIX}{citizen_id}"] if citizen_id is not None else []
    return [f"agency:{agency_code}:{role}" for role in sorted(set(roles))]


def contact_recipient(feedback_code: str) -> str:
    return f"{CONTACT_PREFIX}{feedback_code}"


def contact_code(recipient: str) -> str | None:
    """The feedback code of a "contact:<code>" recipient; None for any other form."""
    if recipient.startswith(CONTACT_PREFIX):
        return recipient.removeprefix(CONTACT_PREFIX) or None
    return None


def _printable(message: OutgoingMessage) -> OutgoingMessage:
    """``message`` with no NUL character in its text (the same message when it had none)."""
    texts_of = (message.recipient, message.kind, message.subject, message.body)
    if not any(NUL in text for text in texts_of):
        return message
    recipient, kind, subject, body = without_nul(list(texts_of))
    return replace(message, recipient=recipient, kind=kind, subject=subject, body=body)


def _maybe_sent(message: OutgoingMessage, channel: str, claimed_at: datetime) -> None:
    log.warning(
        "notice_maybe_sent dossier=%s seq=%s channel=%s claimed_at=%s",
        message.dossier_code, message.seq, channel, claimed_at.isoformat(),
    )  # fmt: skip


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
        every case at its next transition. A channel another attempt still holds fails
        the attempt too (ClaimHeld), whatever the attempt number: its claim is sent,
        given back or stale (counted as sent) by the time the retries look again."""
        message = _printable(message)
        lease = claim_lease()
        deadline = send_deadline(lease)  # before the claim: it ends within the lease
        claims = self._claim(message, lease)
        created = 1 if claims.inapp else 0
        failures: dict[str, Exception] = {}
        for channel in (c for c in self._channels if c.name in claims.outside):
            try:
                channel.send(message, deadline=deadline)
            except Exception as exc:
                failures[channel.name] = exc
            else:
                self._mark_sent(message, channel.name, claims.token)  # at once: see module doc
                created += 1
        if failures:
            self._release(message, list(failures), claims.token)
            for exc in failures.values():
                if isinstance(exc, CancelledError):
                    raise exc  # Temporal ended this attempt: no verdict on the channel
            attempt = activity.info().attempt if activity.in_activity() else 1
            if attempt < MAX_SEND_ATTEMPTS:
                raise next(iter(failures.values()))
            for name, exc in failures.items():
                log.error(
                    "notice_undelivered dossier=%s seq=%s channel=%s error=%s attempts=%s",
                    message.dossier_code, message.seq, name, type(exc).__name__, attempt,
                )  # fmt: skip
        if claims.held:
            raise ClaimHeld(
                f"notice {message.dossier_code}/{message.seq}: "
                f"{', '.join(claims.held)} claimed by another attempt"
            )
        return created

    def _claim(self, message: OutgoingMessage, lease: timedelta) -> _Claims:
        """Claims every channel's row in one transaction (one commit per notice, not
        one per channel): new rows, and outside claims older than ``lease``."""
        key = {"c": message.dossier_code, "s": message.seq, "r": message.recipient}
        names = [c.name for c in self._channels]
        for _ in range(3):
            with self._db.session() as session:
                conn = session.connection()
                rows = {row.channel: row for row in conn.execute(_ROWS, key)}
                claims = _Claims(token=utcnow())
                fresh = [] if "inapp" in rows else ["inapp"]
                claims.inapp = bool(fresh)
                for name in names:
                    row = rows.get(name)
                    if row is None:
                        fresh.append(name)
                        claims.outside.append(name)
                    elif not row.in_flight:
                        continue  # sent
                    elif row.created_at <= claims.token - lease:
                        _maybe_sent(message, name, row.created_at)
                    else:
                        claims.held.append(name)
                if fresh:
                    conn.execute(_CLAIM, [
                        {"dossier_code": message.dossier_code, "seq": message.seq,
                         "channel": channel, "recipient": message.recipient,
                         "kind": message.kind, "subject": message.subject,
                         "body": message.body, "created_at": claims.token,
                         "in_flight": channel != "inapp"}
                        for channel in fresh])  # fmt: skip
                try:
                    session.commit()
                except IntegrityError:
                    # A concurrent attempt of the same notice claimed some: look again.
                    session.rollback()
                    continue
                return claims
        return _Claims(token=utcnow(), held=names)  # still contended: the retry looks again

    def _mark_sent(self, message: OutgoingMessage, channel: str, token: datetime) -> None:
        with self._db.session() as session:
            marked = session.connection().execute(_MARK_SENT, {
                **self._key(message), "ch": channel, "t": token}).rowcount  # fmt: skip
            session.commit()
        if not marked:  # our claim went stale mid-send (the attempt outlived its timeout)
            log.warning(
                "notice_claim_lost dossier=%s seq=%s channel=%s",
                message.dossier_code, message.seq, channel,
            )  # fmt: skip

    def _release(self, message: OutgoingMessage, channels: list[str], token: datetime) -> None:
        """Gives back this attempt's claims only (by their claim time)."""
        with self._db.session() as session:
            session.connection().execute(_RELEASE, {
                **self._key(message), "t": token,
                "channels": channels})  # fmt: skip
            session.commit()

    @staticmethod
    def _key(message: OutgoingMessage) -> dict[str, object]:
        return {"c": message.dossier_code, "s": message.seq, "r": message.recipient}


_notices: Table = Notification.__table__  # type: ignore[attr-defined]
# Built once, values bound at execution: a notice is written at every transition.
_OF_NOTICE = (_notices.c.dossier_code == bindparam("c"), _notices.c.seq == bindparam("s"),
              _notices.c.recipient == bindparam("r"))  # fmt: skip
_ROWS = select(_notices.c.channel, _notices.c.created_at, _notices.c.in_flight).where(
    *_OF_NOTICE
)
_CLAIM = insert(_notices)
_OF_CLAIM = (*_OF_NOTICE, _notices.c.channel == bindparam("ch"), _notices.c.in_flight)
_MARK_SENT = (
    update(_notices)
    .where(*_OF_CLAIM, _notices.c.created_at == bindparam("t"))
    .values(in_flight=False)
)
_RELEASE = delete(_notices).where(
    *_OF_NOTICE, _notices.c.created_at == bindparam("t"), _notices.c.in_flight,
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
                    status=request.status,
                    items=list(request.items),
                    due_at=request.due_at,
                )
            )
            for recipient in recipients(request)
        )
