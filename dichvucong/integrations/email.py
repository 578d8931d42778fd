"""Email channel: Vietnamese notices over SMTP, rendered from Jinja2 templates
(``dichvucong/templates/email``).

The Message-ID is derived from (dossier code, transition seq, channel), so a send
retried after a timeout carries the same id and mail systems can drop the copy;
the notify activity's claim row already keeps us from sending twice otherwise.

smtplib's ``timeout`` bounds each socket operation, not the exchange: a server
answering every command just under it made one send outlast the activity's
attempt. ``DeadlineSMTP`` also bounds the whole exchange by the deadline the
notify activity passes.
"""

from __future__ import annotations

import logging
import re
import smtplib
import time
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from dichvucong.accounts.citizens import CitizenContact, contact_of
from dichvucong.activities.notify import CITIZEN_PREFIX, OutgoingMessage, contact_code
from dichvucong.db.engine import Database
from dichvucong.feedback.contacts import feedback_contact
from dichvucong.workflows import texts

log = logging.getLogger("dichvucong.integrations.email")

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_SENDER = "Cổng Dịch vụ công Đồng Nai <no-reply@dichvucong.local>"
# Whole-exchange bound when the caller gives no deadline (a direct call).
DEFAULT_EXCHANGE_SECONDS = 30.0


@lru_cache
def template_env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)),
                       autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def message_id(dossier_code: str, seq: int, channel: str, domain: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9-]+", "-", dossier_code).strip("-") or "x"
    return f"<dvc.{safe}.{seq}.{channel}@{domain}>"


FEEDBACK_PREFIX = "PAKN-"  # feedback codes: no dossier page behind them


def dossier_link(public_base_url: str, dossier_code: str) -> str | None:
    """The citizen's page of the dossier; None for a feedback notice (its answer is in
    the notice itself)."""
    if dossier_code.startswith(FEEDBACK_PREFIX):
        return None
    return f"{public_base_url.rstrip('/')}/ho-so/{dossier_code}"


def addressee(db: Database, message: OutgoingMessage) -> CitizenContact | None:
    """Whom an outside channel reaches: the citizen's account, or the contact left with
    feedback sent without one; None for officials (they read notices in the app)."""
    if message.recipient.startswith(CITIZEN_PREFIX):
        return contact_of(db, message.citizen_id) if message.citizen_id is not None else None
    code = contact_code(message.recipient)
    return feedback_contact(db, code) if code is not None else None


def guess_status(message: OutgoingMessage) -> str | None:
    """The status the notice is about: the message's own field when it has one,
    else the «label» the composed body names."""
    status = getattr(message, "status", None)
    if status:
        return str(status)
    for code, label in texts.STATUS_LABELS.items():
        if f"«{label}»" in message.body:
            return code
    return None


def template_values(message: OutgoingMessage, *, name: str, public_base_url: str) -> dict[str, Any]:
    due_at: datetime | None = getattr(message, "due_at", None)
    return {
        "name": name,
        "code": message.dossier_code,
        "kind": message.kind,
        "status": guess_status(message) or "",
        "subject": message.subject,
        "body": message.body,
        "items": list(getattr(message, "items", None) or []),
        "due": texts.fmt_moment(due_at) if due_at else "",
        "link": dossier_link(public_base_url, message.dossier_code),
    }


def render_email(message: OutgoingMessage, *, to: str, name: str, sender: str,
                 public_base_url: str, domain: str = "dichvucong.local") -> EmailMessage:
    values = template_values(message, name=name, public_base_url=public_base_url)
    env = template_env()
    email = EmailMessage()
    email["Subject"] = message.subject
    display, addr = parseaddr(sender)
    email["From"] = formataddr((display, addr)) if display else addr
    email["To"] = Address(display_name=name, addr_spec=to) if name else to
    email["Message-ID"] = message_id(message.dossier_code, message.seq, "email", domain)
    email["Date"] = format_datetime(datetime.now().astimezone())
    email["X-Dossier-Code"] = message.dossier_code
    email.set_content(env.get_template("email/notice.txt").render(values), charset="utf-8")
    email.add_alternative(env.get_template("email/notice.html").render(values), subtype="html",
                          charset="utf-8")
    return email


class DeadlineSMTP(smtplib.SMTP):
    """An SMTP client whose every wait ends by ``deadline`` (``time.monotonic()``):
    each read and write gets the time left, capped by the per-operation timeout."""

    def __init__(self, host: str, port: int, *, timeout: float, deadline: float) -> None:
        self._deadline = deadline  # before connecting: the greeting is read in __init__
        super().__init__(host, port, timeout=timeout)

    def _left(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("SMTP exchange passed its deadline")
        return min(left, self.timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> Any:
        return super()._get_socket(host, port, self._left())

    def send(self, s: str | bytes) -> None:
        if self.sock is not None:
            self.sock.settimeout(self._left())
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        if self.sock is not None:
            self.sock.settimeout(self._left())
        return super().getreply()


def quit_quietly(smtp: smtplib.SMTP) -> None:
    """Ends the session; the message is already accepted, so a slow or failed QUIT
    must not fail the send (the claim would be given back and the mail sent again)."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


class EmailChannel:
    name = "email"

    def __init__(self, db: Database, *, host: str = "127.0.0.1", port: int = 8025,
                 sender: str = DEFAULT_SENDER, public_base_url: str = "http://127.0.0.1:8000",
                 starttls: bool = False, username: str | None = None,
                 password: str | None = None, timeout: float = 10.0) -> None:
        self._db = db
        self.host, self.port = host, port
        self.sender = sender
        self.public_base_url = public_base_url
        self._starttls, self._username, self._password = starttls, username, password
        self._timeout = timeout
        self.domain = parseaddr(sender)[1].rpartition("@")[2] or "dichvucong.local"

    def send(self, message: OutgoingMessage, *, deadline: float | None = None) -> None:
        """Sends within ``deadline`` (monotonic) or raises, e.g. TimeoutError."""
        contact = addressee(self._db, message)
        if contact is None or not contact.email:
            return  # an official, or no email address on file: the in-app notice is enough
        to, name = contact.email, contact.full_name
        email = render_email(message, to=to, name=name, sender=self.sender,
                             public_base_url=self.public_base_url, domain=self.domain)
        if deadline is None:
            deadline = time.monotonic() + DEFAULT_EXCHANGE_SECONDS
        smtp = DeadlineSMTP(self.host, self.port, timeout=self._timeout, deadline=deadline)
        try:
            if self._starttls:
                smtp.starttls()
            if self._username:
                smtp.login(self._username, self._password or "")
            smtp.send_message(email)
        except BaseException:
            smtp.close()
            raise
        quit_quietly(smtp)
        log.info("email_sent dossier=%s seq=%s kind=%s", message.dossier_code, message.seq,
                 message.kind)
