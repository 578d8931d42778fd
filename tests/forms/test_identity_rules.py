"""Account identifiers follow the same rules as the e-forms: a CCCD's province code,
and one spelling of a phone number for registration, sign-in and the forms."""

from __future__ import annotations

from datetime import date

import pytest

from dichvucong.accounts.identity import MESSAGES, PHONE, check_id_number, normalise_phone
from dichvucong.forms.validation import normalise_phone as form_phone


@pytest.mark.parametrize("id_number", ["000203001234", "003203001234", "097203001234"])
def test_a_cccd_without_a_province_code_is_refused(id_number: str) -> None:
    assert check_id_number(id_number, None) == MESSAGES["id_province"]


@pytest.mark.parametrize("id_number", ["001203001234", "075203001234", "079203001234"])
def test_cccds_of_real_provinces_are_taken(id_number: str) -> None:
    assert check_id_number(id_number, date(2003, 5, 17)) is None


@pytest.mark.parametrize(
    ("typed", "phone"),
    [
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("0912.345.678", "0912345678"),
        ("(0251) 3822 123", "02513822123"),
    ],
)
def test_an_account_phone_is_spelled_as_the_forms_spell_it(typed: str, phone: str) -> None:
    assert normalise_phone(typed) == form_phone(typed) == phone
    assert PHONE.match(phone)


@pytest.mark.parametrize("phone", ["0123456789", "0412345678", "091234567", "02513822"])
def test_numbers_no_network_uses_are_not_account_phones(phone: str) -> None:
    assert not PHONE.match(normalise_phone(phone))
