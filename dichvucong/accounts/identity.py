"""Personal identifiers: CCCD (12-digit personal id) and passport numbers.

CCCD layout (Circular 59/2021/TT-BCA): 3-digit province code, 1 digit for
century and gender (1900s: 0 male / 1 female; 2000s: 2 / 3; 2100s: 4 / 5 …),
2 digits of the birth year, 6 random digits.
"""

from __future__ import annotations

import re
from datetime import date

from dichvucong.forms.validation import id_number_matches_birth_date, normalise_phone

# ASCII digits only, the whole string: "\d" also takes Arabic-Indic or fullwidth digits,
# which would let one CCCD back several accounts; "$" would let a trailing newline through.
CCCD = re.compile(r"\A[0-9]{12}\Z")
PASSPORT = re.compile(r"\A[A-Z][0-9]{7}\Z")
# The same numbers the e-forms take (dichvucong.forms.validation): mobiles 03x, 05x,
# 07x, 08x, 09x + 8 digits; landlines 02 + 9 digits.
PHONE = re.compile(r"\A(?:0[35789][0-9]{8}|02[0-9]{9})\Z")
# The first three digits: the province where the birth was registered (Circular
# 59/2021/TT-BCA, annex I): the 63 provinces' codes before the 2025 merger, which
# CCCDs already issued keep.
PROVINCE_CODES = frozenset(
    f"{n:03d}"
    for n in (
        1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34,
        35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67,
        68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
    )
)

MESSAGES = {
    "id_format": "Số CCCD phải gồm đúng 12 chữ số.",
    "id_birth": "Số CCCD không khớp với ngày sinh (chữ số thứ 4 và năm sinh).",
    "id_province": "Số CCCD không hợp lệ: ba chữ số đầu không phải mã tỉnh, thành phố.",
    "phone": "Số điện thoại phải gồm 10 chữ số (di động, bắt đầu bằng 03, 05, 07, 08 hoặc 09) "
    "hoặc 11 chữ số (cố định, bắt đầu bằng 02).",
}

__all__ = [
    "CCCD",
    "MESSAGES",
    "PASSPORT",
    "PHONE",
    "PROVINCE_CODES",
    "check_id_number",
    "is_id_number",
    "is_passport",
    "mask_name",
    "normalise_phone",  # the e-forms' own: one spelling of a number everywhere
]


def check_id_number(id_number: str, born: date | None) -> str | None:
    """The Vietnamese message for what is wrong with ``id_number``, or None."""
    if not CCCD.match(id_number):
        return MESSAGES["id_format"]
    if id_number[:3] not in PROVINCE_CODES:
        return MESSAGES["id_province"]
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
