"""Where the answer to feedback sent without an account goes: the contact its sender
left on the feedback row (``create_feedback`` requires a name and an email or phone).

The notice channels resolve a "contact:<feedback code>" recipient here, so the address
stays in the read model and never travels in an activity input or workflow history.
"""

from __future__ import annotations

from sqlalchemy import Table, bindparam, select

from dichvucong.accounts.citizens import CitizenContact
from dichvucong.db.engine import Database
from dichvucong.feedback.models import Feedback

_feedback: Table = Feedback.__table__  # type: ignore[attr-defined]
_CONTACT = select(
    _feedback.c.contact_name, _feedback.c.contact_email, _feedback.c.contact_phone
).where(_feedback.c.code == bindparam("code"))


def feedback_contact(db: Database, code: str) -> CitizenContact | None:
    """The sender's name, email and phone; None when the feedback is unknown or left
    neither an email nor a phone (one indexed read, no ORM object)."""
    with db.engine.connect() as conn:
        row = conn.execute(_CONTACT, {"code": code}).first()
    if row is None:
        return None
    email, phone = (row.contact_email or None), (row.contact_phone or None)
    if email is None and phone is None:
        return None
    return CitizenContact(row.contact_name or "", email, phone)
