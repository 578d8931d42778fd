"""Validating a procedure's e-form: the catalog's ``form_fields`` describe it.

``validate_form`` returns the cleaned values (JSON-ready: dates as
``YYYY-MM-DD``, numbers as int where whole, checkboxes as bool) and the errors,
keyed by field key, in Vietnamese for the citizen. Keys the form does not
declare are dropped.

Text is stored in Unicode NFC: the same Vietnamese name typed on a keyboard that
sends decomposed letters (NFD: "e" + combining marks, as macOS/iOS may) is the same
string as one typed precomposed. "Today", for dates that cannot be in the future,
is the date in Vietnam (Asia/Ho_Chi_Minh) unless the caller gives one.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from dichvucong import TIMEZONE_NAME
from dichvucong.catalog.models import FormField, Procedure

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# ASCII digits: "\d" takes any script's digits. Mobile: 03x, 05x, 07x, 08x, 09x and
# 8 more digits; landline: 02 + area code and subscriber number, 11 digits in all.
_PHONE = re.compile(r"0[35789][0-9]{8}|02[0-9]{9}")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
_ID_NUMBER = re.compile(r"[0-9]{12}")
_VN_TZ = ZoneInfo(TIMEZONE_NAME)
# C0 control characters but tab, line feed and carriage return, and lone surrogates:
# nobody writes them, and PostgreSQL refuses NUL in text (the case would not record).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a character no one writes (the check of every free text
    that reaches a case: e-forms, decisions, feedback)."""
    return _CONTROL.search(text) is not None


_TRUE = {"1", "true", "on", "yes", "co", "có"}
_FALSE = {"", "0", "false", "off", "no", "khong", "không"}

MSG_DATE = "Ngày không hợp lệ (định dạng YYYY-MM-DD)"
MSG_ID_NUMBER = "Số định danh cá nhân (CCCD) phải gồm đúng 12 chữ số"
MSG_PHONE = "Số điện thoại không hợp lệ (di động: 10 chữ số; cố định: 11 chữ số bắt đầu bằng 02)"
MSG_PHONE_PREFIX = ("Số điện thoại không hợp lệ: số di động gồm 10 chữ số, bắt đầu bằng 03, 05, "
                    "07, 08 hoặc 09; số cố định gồm 11 chữ số, bắt đầu bằng 02")
MSG_NOT_FUTURE = "{label} không được là một ngày trong tương lai"
MSG_EMAIL = "Địa chỉ thư điện tử không hợp lệ"
MSG_WHOLE = "{label} phải là số nguyên (không có phần lẻ)"
MSG_CONTROL = "{label} có ký tự không hợp lệ"


class _Invalid(Exception):
    pass


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _nfc(value: Any) -> str:
    """``value`` as text in NFC, the one form a name or an address is stored in."""
    return unicodedata.normalize("NFC", str(value))


def vn_today() -> date:
    """Today's date in Vietnam, whatever the server's time zone."""
    return datetime.now(_VN_TZ).date()


def _clean_text(f: FormField, value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _Invalid(f"{f.label} không hợp lệ")
    # Before the length check: a decomposed letter counts as two or three characters.
    text = _nfc(value).strip()
    if _CONTROL.search(text):
        raise _Invalid(MSG_CONTROL.format(label=f.label))
    if f.type != "textarea":
        text = " ".join(text.split())
    if f.max_length is not None and len(text) > f.max_length:
        raise _Invalid(f"{f.label} không được dài quá {f.max_length} ký tự")
    if f.pattern is not None and not re.fullmatch(f.pattern, text):
        raise _Invalid(f.pattern_message or f"{f.label} không đúng định dạng")
    return text


def _clean_number(f: FormField, value: Any) -> int | float:
    if isinstance(value, bool):
        raise _Invalid(f"{f.label} phải là một số")
    if isinstance(value, int | float):
        number: float = value
    else:
        try:
            number = float(str(value).strip().replace(",", "."))
        except ValueError as exc:
            raise _Invalid(f"{f.label} phải là một số") from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise _Invalid(f"{f.label} phải là một số")
    if f.min is not None and number < f.min:
        raise _Invalid(f"{f.label} phải lớn hơn hoặc bằng {_num(f.min)}")
    if f.max is not None and number > f.max:
        raise _Invalid(f"{f.label} phải nhỏ hơn hoặc bằng {_num(f.max)}")
    return int(number) if float(number).is_integer() else number


def _clean_date(f: FormField, value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise _Invalid(MSG_DATE)
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise _Invalid(MSG_DATE) from exc


def _clean_select(f: FormField, value: Any) -> str:
    text = _nfc(value).strip()
    if text not in {o.value for o in f.options}:
        raise _Invalid(f"Lựa chọn không hợp lệ cho {f.label}")
    return text


def _clean_checkbox(f: FormField, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _nfc(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Invalid(f"{f.label} không hợp lệ")


def normalise_phone(value: Any) -> str:
    """Separators (spaces, dots, dashes, brackets) dropped, ``+84``/``84`` made ``0``:
    "+84 912 345 678", "84912345678" and "0912.345.678" are all "0912345678"."""
    text = _PHONE_SEPARATORS.sub("", _nfc(value))
    if text.startswith("+84"):
        text = "0" + text[3:]
    elif text.startswith("84") and len(text) in (11, 12):  # 84 + 9 (mobile) or 10 digits
        text = "0" + text[2:]
    return text


def _clean_phone(f: FormField, value: Any) -> str:
    text = normalise_phone(value)
    if _PHONE.fullmatch(text):
        return text
    if re.fullmatch(r"0[0-9]{9,10}", text):  # the length of a number, not a prefix in use
        raise _Invalid(MSG_PHONE_PREFIX)
    raise _Invalid(MSG_PHONE)


def _clean_email(f: FormField, value: Any) -> str:
    text = _nfc(value).strip()
    if len(text) > 254 or _CONTROL.search(text) or not _EMAIL.fullmatch(text):
        raise _Invalid(MSG_EMAIL)
    return text.lower()


def _clean_id_number(f: FormField, value: Any) -> str:
    text = re.sub(r"\s", "", str(value))
    if not _ID_NUMBER.fullmatch(text):
        raise _Invalid(MSG_ID_NUMBER)
    return text


_CLEANERS = {
    "text": _clean_text,
    "textarea": _clean_text,
    "number": _clean_number,
    "date": _clean_date,
    "select": _clean_select,
    "checkbox": _clean_checkbox,
    "phone": _clean_phone,
    "email": _clean_email,
    "id_number": _clean_id_number,
}


def id_number_matches_birth_date(id_number: str, born: date) -> bool:
    """The 4th digit codes century and gender (1900s: 0 male, 1 female; 2000s: 2/3;
    2100s: 4/5; 2200s: 6/7; 2300s: 8/9), the 5th-6th the last two digits of the
    birth year (Ministry of Public Security circulars on personal id numbers)."""
    century = 1900 + 100 * (int(id_number[3]) // 2)
    return century + int(id_number[4:6]) == born.year


def _required_message(f: FormField) -> str:
    if f.type == "select":
        return f"Vui lòng chọn {f.label}"
    if f.type == "checkbox":
        return f"Vui lòng xác nhận: {f.label}"
    return f"Vui lòng nhập {f.label}"


def count_fields(procedure: Procedure) -> frozenset[str]:
    """The number fields that count something (copies, pages): the ones the fee rule
    multiplies by, so a whole number only (3.5 copies would be charged as 3)."""
    fee = procedure.fee
    keys = (getattr(fee, "copies_field", None), getattr(fee, "pages_field", None))
    return frozenset(key for key in keys if key)


def _clean_count(f: FormField, value: Any) -> int:
    number = _clean_number(f, value)
    if not float(number).is_integer():
        raise _Invalid(MSG_WHOLE.format(label=f.label))
    return int(number)


def validate_form(
    procedure: Procedure, data: dict[str, Any], *, today: date | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """(cleaned values, errors by field key). Valid when the errors are empty.

    ``today`` is the last date a ``not_future`` date field accepts: by default today
    in Vietnam (:func:`vn_today`)."""
    if today is None:
        today = vn_today()
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    counts = count_fields(procedure)
    for f in procedure.form_fields:
        value = data.get(f.key)
        if f.type == "checkbox":
            try:
                checked = False if value is None else _clean_checkbox(f, value)
            except _Invalid as exc:
                errors[f.key] = str(exc)
                continue
            if f.required and not checked:
                errors[f.key] = _required_message(f)
            cleaned[f.key] = checked
            continue
        if _is_blank(value):
            if f.required:
                errors[f.key] = _required_message(f)
            continue
        clean = _clean_count if f.type == "number" and f.key in counts else _CLEANERS[f.type]
        try:
            cleaned[f.key] = clean(f, value)
        except _Invalid as exc:
            errors[f.key] = str(exc)
            continue
        if f.type == "date" and f.not_future and date.fromisoformat(cleaned[f.key]) > today:
            del cleaned[f.key]
            errors[f.key] = MSG_NOT_FUTURE.format(label=f.label)

    for f in procedure.form_fields:
        if f.matches_birth_date and f.key in cleaned and f.matches_birth_date in cleaned:
            born = date.fromisoformat(cleaned[f.matches_birth_date])
            if not id_number_matches_birth_date(cleaned[f.key], born):
                errors[f.key] = (f"{f.label} không khớp với năm sinh (chữ số thứ 4 và chữ số "
                                 f"thứ 5, 6 thể hiện thế kỷ và năm sinh)")
    return cleaned, errors
