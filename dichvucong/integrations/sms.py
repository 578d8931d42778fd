"""SMS channel: a short notice to the citizen's phone.

Vietnamese with diacritics needs UCS-2 (70 characters a segment, 67 in a
concatenated message); brand-name SMS in Vietnam is usually sent without
diacritics in GSM-7 (160 a segment). ``sms_text`` writes one GSM-7 segment,
shortening the procedure text rather than the code or the link.

The only transport here is a development sink that keeps messages (memory,
and a JSON-lines file when given one); a real SMS gateway adapter would be
another class with the same ``send``.
"""

from __future__ import annotations

import json
import threading
import time
import unicodedata
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from dichvucong.activities.notify import CITIZEN_PREFIX, CONTACT_PREFIX, OutgoingMessage
from dichvucong.db.engine import Database
from dichvucong.integrations.email import addressee, dossier_link, guess_status

GSM_SEGMENT = 160
UCS2_SEGMENT = 70
GSM_CHARS = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

SHORT_STATUS = {
    "SUBMITTED": "da nop, cho tiep nhan",
    "SUPPLEMENT_REQUESTED": "can bo sung giay to",
    "PROCESSING": "dang xu ly",
    "AWAITING_PAYMENT": "cho nop phi, le phi",
    "RESULT_READY": "da co ket qua, moi nhan tai quay",
    "DISPATCHED": "da gui ket qua qua buu chinh",
    "COMPLETED": "da hoan thanh",
    "REFUSED": "bi tu choi tiep nhan",
    "REJECTED": "bi tu choi giai quyet",
    "WITHDRAWN": "da dong",
}
SHORT_KIND = {
    "payment_reminder": "nhac nop phi, le phi",
    "payment_expired": "het han thanh toan truc tuyen",
    "feedback_answered": "da duoc tra loi",
    "apology": "cham hen, co quan xin loi va hen lai ngay tra",
}


def strip_diacritics(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def is_gsm7(text: str) -> bool:
    return all(c in GSM_CHARS for c in text)


def segments(text: str) -> int:
    """How many SMS segments ``text`` takes."""
    single, multi = (GSM_SEGMENT, 153) if is_gsm7(text) else (UCS2_SEGMENT, 67)
    if len(text) <= single:
        return 1
    return -(-len(text) // multi)


def sms_text(message: OutgoingMessage, public_base_url: str, limit: int = GSM_SEGMENT) -> str:
    status = guess_status(message)
    what = SHORT_KIND.get(message.kind) or SHORT_STATUS.get(status or "") or strip_diacritics(
        message.subject)
    link = dossier_link(public_base_url, message.dossier_code)
    noun = "Ho so" if link else "Phan anh"
    head = f"DVC Dong Nai: {noun} {message.dossier_code} {what}."
    tail = f" Xem: {link}" if link else ""
    text = "".join(c if c in GSM_CHARS else "?" for c in strip_diacritics(head + tail))
    if len(text) > limit:
        room = limit - len(tail) - 3
        text = strip_diacritics(head)[:max(room, 0)] + "..." + tail
    return text[:limit]


@dataclass
class SmsRecord:
    to: str
    text: str
    message_id: str
    dossier_code: str
    seq: int
    sent_at: str


class SmsSink:
    """Keeps sent SMS (development): the last ``keep`` in memory, all in a JSON-lines
    file when ``path`` is given (so the web app can list what the worker sent)."""

    def __init__(self, path: Path | None = None, keep: int = 500) -> None:
        self.path = path
        self._memory: deque[SmsRecord] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def add(self, record: SmsRecord) -> None:
        with self._lock:
            self._memory.append(record)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")

    def messages(self) -> list[SmsRecord]:
        with self._lock:
            if self.path is not None and self.path.exists():
                lines = self.path.read_text(encoding="utf-8").splitlines()
                return [SmsRecord(**json.loads(x)) for x in lines if x.strip()]
            return list(self._memory)


class SmsChannel:
    name = "sms"

    def __init__(self, db: Database, sink: SmsSink, *,
                 public_base_url: str = "http://127.0.0.1:8000") -> None:
        self._db = db
        self.sink = sink
        self.public_base_url = public_base_url

    def send(self, message: OutgoingMessage, *, deadline: float | None = None) -> None:
        if not message.recipient.startswith((CITIZEN_PREFIX, CONTACT_PREFIX)):
            return  # officials read agency notices in the app
        if deadline is not None and time.monotonic() >= deadline:
            # The attempt's time is spent (the email took it): the retry sends this one.
            raise TimeoutError("SMS send passed its deadline")
        contact = addressee(self._db, message)
        phone = contact.phone if contact is not None else None
        if not phone:
            return
        self.sink.add(SmsRecord(
            to=phone, text=sms_text(message, self.public_base_url),
            message_id=f"{message.dossier_code}:{message.seq}:sms",
            dossier_code=message.dossier_code, seq=message.seq,
            sent_at=datetime.now(UTC).isoformat()))
