"""Development mail: an SMTP server (aiosmtpd) that keeps every message, and the
``/_dev/mail`` page listing them (with the SMS the dev sink kept).

The store can live in a folder (one ``.eml`` + ``.json`` envelope per message),
so the SMTP server started by the dev stack and the web app's page share it
across processes. Run alone: ``python -m dichvucong.simulators.mail --port 8025
--dir var/mail``.
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

from dichvucong.integrations.sms import SmsSink


@dataclass
class CapturedMail:
    id: str
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def message_id(self) -> str:
        return str(self.message.get("Message-ID", ""))

    def body(self, subtype: str = "plain") -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return "" if part is None else str(part.get_content())  # type: ignore[union-attr]


class MailStore:
    """Thread-safe; in memory (``directory=None``) or in a folder."""

    def __init__(self, directory: Path | None = None, keep: int = 500) -> None:
        self.directory = directory
        self._memory: deque[CapturedMail] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    def add(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> CapturedMail:
        with self._lock:
            mail_id = f"{time.time_ns()}-{next(self._counter)}"
            mail = CapturedMail(mail_id, mail_from, list(rcpt_tos), raw)
            if self.directory is None:
                self._memory.append(mail)
            else:
                self.directory.mkdir(parents=True, exist_ok=True)
                envelope = json.dumps({"mail_from": mail_from, "rcpt_tos": list(rcpt_tos)})
                (self.directory / f"{mail_id}.json").write_text(envelope, encoding="utf-8")
                tmp = self.directory / f".{mail_id}.eml.tmp"
                tmp.write_bytes(raw)
                os.replace(tmp, self.directory / f"{mail_id}.eml")
            return mail

    def messages(self) -> list[CapturedMail]:
        """Oldest first."""
        with self._lock:
            if self.directory is None:
                return list(self._memory)
            if not self.directory.exists():
                return []
            found = []
            for eml in sorted(self.directory.glob("*.eml"),
                              key=lambda p: tuple(int(x) for x in p.stem.split("-"))):
                meta_file = eml.with_suffix(".json")
                meta = json.loads(meta_file.read_text("utf-8")) if meta_file.exists() else {}
                found.append(CapturedMail(eml.stem, meta.get("mail_from", ""),
                                          meta.get("rcpt_tos", []), eml.read_bytes()))
            return found

    def get(self, mail_id: str) -> CapturedMail | None:
        return next((m for m in self.messages() if m.id == mail_id), None)

    def clear(self) -> None:
        with self._lock:
            self._memory.clear()
            if self.directory is not None and self.directory.exists():
                for path in self.directory.glob("*"):
                    path.unlink(missing_ok=True)


class _Handler:
    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        self.store.add(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class DevSmtpServer:
    """A running aiosmtpd server (in its own thread)."""

    def __init__(self, controller: Any, store: MailStore) -> None:
        self._controller = controller
        self.store = store
        self.host = controller.hostname
        self.port = controller.port

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> DevSmtpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_dev_smtp(host: str = "127.0.0.1", port: int = 8025,
                   store: MailStore | None = None) -> DevSmtpServer:
    """Start an SMTP server keeping every message in ``store``; returns once it
    accepts connections. Call ``.stop()`` to end it."""
    from aiosmtpd.controller import Controller

    store = store if store is not None else MailStore()
    controller = Controller(_Handler(store), hostname=host, port=port, enable_SMTPUTF8=True,
                            ready_timeout=10)
    controller.start()
    return DevSmtpServer(controller, store)


# ------------------------------------------------------------------ the page


def dev_mail_router(store: MailStore, sms: SmsSink | None = None) -> APIRouter:
    """Mounted at ``/_dev/mail`` in development: sent mail (and SMS), newest first."""
    router = APIRouter(tags=["development: mail"])

    @router.get("", response_class=HTMLResponse, name="dev_mail_list")
    async def listing() -> HTMLResponse:
        rows = "".join(
            f'<tr><td><a href="mail/{m.id}">{html.escape(m.subject)}</a></td>'
            f"<td>{html.escape(', '.join(m.rcpt_tos))}</td>"
            f"<td>{html.escape(str(m.message.get('Date', '')))}</td></tr>"
            for m in reversed(store.messages()))
        sms_rows = "".join(
            f"<tr><td>{html.escape(s.to)}</td><td>{html.escape(s.text)}</td>"
            f"<td>{html.escape(s.sent_at)}</td></tr>"
            for s in reversed(sms.messages() if sms is not None else []))
        body = (
            "<h1>Hộp thư thử (môi trường phát triển)</h1>"
            "<h2>Thư điện tử</h2><table><thead><tr><th>Tiêu đề</th><th>Người nhận</th>"
            "<th>Thời gian</th></tr></thead><tbody>"
            + (rows or '<tr><td colspan="3">Chưa có thư nào.</td></tr>') + "</tbody></table>"
            "<h2>Tin nhắn SMS</h2><table><thead><tr><th>Số điện thoại</th><th>Nội dung</th>"
            "<th>Thời gian</th></tr></thead><tbody>"
            + (sms_rows or '<tr><td colspan="3">Chưa có tin nhắn nào.</td></tr>')
            + "</tbody></table>")
        return HTMLResponse(_page("Hộp thư thử", body))

    @router.get("/messages.json")
    async def as_json() -> JSONResponse:
        return JSONResponse([{"id": m.id, "subject": m.subject, "to": m.rcpt_tos,
                              "message_id": m.message_id} for m in store.messages()])

    @router.get("/{mail_id}", response_class=HTMLResponse)
    async def show(mail_id: str) -> HTMLResponse:
        mail = store.get(mail_id)
        if mail is None:
            return HTMLResponse(_page("Không tìm thấy", "<p>Không có thư này.</p>"),
                                status_code=404)
        body = (f"<h1>{html.escape(mail.subject)}</h1>"
                f"<p>Người gửi: {html.escape(str(mail.message.get('From', '')))}<br>"
                f"Người nhận: {html.escape(', '.join(mail.rcpt_tos))}<br>"
                f"Message-ID: {html.escape(mail.message_id)}</p>"
                f"<pre style=\"white-space:pre-wrap\">{html.escape(mail.body('plain'))}</pre>"
                '<p><a href="../mail">Quay lại</a></p>')
        return HTMLResponse(_page(mail.subject, body))

    return router


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head><body><main>{body}</main></body></html>")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Development SMTP server keeping messages.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    args = parser.parse_args(argv)
    server = start_dev_smtp(args.host, args.port, MailStore(args.dir))
    print(f"dev SMTP on {server.host}:{server.port}, keeping mail in {args.dir}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
