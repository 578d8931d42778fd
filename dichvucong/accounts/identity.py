"""Personal identifiers: CCCD (12-digit personal id) and passport numbers.

CCCD layout (Circular 59/2021/TT-BCA): 3-digit province code, 1 digit for
century and gender (1900s: 0 male / 1 female; 2000s: 2 / 3; 2100s: 4 / 5 …),
2 digits of the birth year, 6 random digits.
"""

from __future__ import annotations

import re
from datetime import date

from dichvucong.forms.validation import id_number_matches_birth_date

# ASCII digits only, the whole string: "\d" also takes Arabic-Indic or fullwidth digits,
# which would let one CCCD back several accounts; "$" would let a trailing newline through.
CCCD = re.compile(r"\A[0-9]{12}\Z")
PASSPORT = re.compile(r"\A[A-Z][0-9]{7}\Z")
PHONE = re.compile(r"\A0[0-9]{9}\Z")

MESSAGES = {
    "id_format": "Số CCCD phải gồm đúng 12 chữ số.",
    "id_birth": "Số CCCD không khớp với ngày sinh (chữ số thứ 4 và năm sinh).",
    "phone": "Số điện thoại phải gồm 10 chữ số, bắt đầu bằng 0.",
}


def normalise_phone(phone: str) -> str:
    digits = re.sub(r"[\s.\-]", "", phone)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    return digits


def check_id_number(id_number: str, born: date | None) -> str | None:
    """The Vietnamese message for what is wrong with ``id_number``, or None."""
    if not CCCD.match(id_number):
        return MESSAGES["id_format"]
    if born is not None and not id_number_matches_birth_date(id_number, born):
        return MESSAGES["id_birth"]
    return None


def is_id_number(text: str) -> bool:
    return bool(CCCD.match(text))


def is_passport(text: str) -> bool:
    return bool(PASSPORT.match(text))


def mask_name(full_name: str) -> str:
    """ "Nguyễn Văn An" -> "Nguyễn V** A**": enough to recognise, not to identify."""
    parts = full_name.split()
    if not parts:
        return ""
    masked = [parts[0]] + [p[0] + "*" * max(len(p) - 1, 2) for p in parts[1:]]
    return " ".join(masked)
