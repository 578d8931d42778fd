"""validate_form rules: NFC text, Vietnamese phone numbers, dates not in the future."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from dichvucong.catalog import load_catalog
from dichvucong.catalog.loader import Catalog
from dichvucong.catalog.models import FormField, Procedure
from dichvucong.forms import validate_form
from dichvucong.forms.validation import (
    MSG_NOT_FUTURE,
    MSG_PHONE,
    MSG_PHONE_PREFIX,
    normalise_phone,
)
from tests.forms.test_form_validation import _good as _typed

TODAY = date(2026, 12, 4)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def lltp(catalog: Catalog) -> Procedure:
    return catalog.procedures["ly-lich-tu-phap"]


def _good() -> dict[str, Any]:
    """The valid form of test_form_validation, as typed without extra spaces."""
    typed = {**_typed(), "ho_ten": "Nguyễn Văn An", "so_dien_thoai": "0912345678"}
    del typed["email"]
    return {**typed, "so_ban": "1", "cam_doan": True}


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# --- 1. Unicode normalisation ------------------------------------------------------


def test_decomposed_text_is_stored_as_nfc(lltp: Procedure) -> None:
    name, address = "Nguyễn Thị Hương", "Phường Tân Phong, Biên Hòa"
    assert _nfd(name) != name  # the test means something
    cleaned, errors = validate_form(
        lltp, {**_good(), "ho_ten": _nfd(name), "noi_thuong_tru": _nfd(address),
               "muc_dich": _nfd("Bổ sung hồ sơ xin việc")}, today=TODAY)
    assert errors == {}
    assert cleaned["ho_ten"] == name
    assert cleaned["noi_thuong_tru"] == address
    assert cleaned["muc_dich"] == "Bổ sung hồ sơ xin việc"
    assert all(unicodedata.is_normalized("NFC", cleaned[k])
               for k in ("ho_ten", "noi_thuong_tru", "muc_dich"))


def test_decomposed_textarea_is_stored_as_nfc(catalog: Catalog) -> None:
    p = catalog.procedures["dang-ky-ket-hon"]
    address = "Số 12, đường Võ Thị Sáu,\nphường Thống Nhất, Biên Hòa"
    cleaned, _ = validate_form(p, {"noi_cu_tru_chong": _nfd(address)}, today=TODAY)
    assert cleaned["noi_cu_tru_chong"] == address


def test_nfd_and_nfc_names_clean_to_the_same_value(lltp: Procedure) -> None:
    name = "Trần Thị Ánh Tuyết"
    nfc, _ = validate_form(lltp, {**_good(), "ho_ten": name}, today=TODAY)
    nfd, _ = validate_form(lltp, {**_good(), "ho_ten": _nfd(name)}, today=TODAY)
    assert nfc["ho_ten"] == nfd["ho_ten"] == name


def test_length_limit_counts_letters_not_combining_marks(lltp: Procedure) -> None:
    name = "Ễ" * 100  # max_length 100; in NFD each letter is 3 code points
    assert len(_nfd(name)) == 300
    cleaned, errors = validate_form(lltp, {**_good(), "ho_ten": _nfd(name)}, today=TODAY)
    assert "ho_ten" not in errors
    assert cleaned["ho_ten"] == name


def test_decomposed_checkbox_and_email_are_read(lltp: Procedure) -> None:
    cleaned, errors = validate_form(
        lltp, {**_good(), "cam_doan": _nfd("Có"), "email": "An.Nguyen@Example.vn"}, today=TODAY)
    assert errors == {}
    assert cleaned["cam_doan"] is True


# --- 2. Phone numbers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0912345678", "0912345678"),
        ("0987654321", "0987654321"),
        ("0911111111", "0911111111"),
        ("0900000001", "0900000001"),
        ("0351234567", "0351234567"),
        ("0561234567", "0561234567"),
        ("0771234567", "0771234567"),
        ("0861234567", "0861234567"),
        ("0912 345 678", "0912345678"),
        ("0912.345.678", "0912345678"),
        ("0912-345-678", "0912345678"),
        ("(091) 234 5678", "0912345678"),
        ("+84912345678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("84 912.345.678", "0912345678"),
        ("02838221234", "02838221234"),  # landline, Hồ Chí Minh City
        ("028 3822 1234", "02838221234"),
        ("0251.3822.123", "02513822123"),  # landline, Đồng Nai
        ("+84 28 3822 1234", "02838221234"),
        ("842838221234", "02838221234"),
    ],
)
def test_vietnamese_phone_numbers_are_accepted_and_normalised(
    lltp: Procedure, typed: str, stored: str
) -> None:
    cleaned, errors = validate_form(lltp, {**_good(), "so_dien_thoai": typed}, today=TODAY)
    assert errors == {}
    assert cleaned["so_dien_thoai"] == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0123456789", MSG_PHONE_PREFIX),  # 01x: no longer a mobile prefix
        ("0412345678", MSG_PHONE_PREFIX),
        ("0612345678", MSG_PHONE_PREFIX),
        ("0012345678", MSG_PHONE_PREFIX),
        ("0283822123", MSG_PHONE_PREFIX),  # landline one digit short
        ("09123456789", MSG_PHONE_PREFIX),  # mobile one digit too many
        ("01234567890", MSG_PHONE_PREFIX),  # old 11-digit mobile (before 2018)
        ("091234567", MSG_PHONE),  # 9 digits
        ("+8491234567", MSG_PHONE),
        ("912345678", MSG_PHONE),
        ("12345", MSG_PHONE),
        ("0912a45678", MSG_PHONE),
        ("０９１２３４５６７８", MSG_PHONE),  # fullwidth digits
    ],
)
def test_other_phone_numbers_are_refused(lltp: Procedure, typed: str, message: str) -> None:
    cleaned, errors = validate_form(lltp, {**_good(), "so_dien_thoai": typed}, today=TODAY)
    assert errors == {"so_dien_thoai": message}
    assert "so_dien_thoai" not in cleaned


def test_phone_messages_are_vietnamese() -> None:
    assert MSG_PHONE_PREFIX.startswith("Số điện thoại không hợp lệ")
    assert "di động" in MSG_PHONE_PREFIX and "cố định" in MSG_PHONE_PREFIX
    assert unicodedata.is_normalized("NFC", MSG_PHONE_PREFIX)


def test_normalise_phone() -> None:
    assert normalise_phone("+84 912-345.678") == "0912345678"
    assert normalise_phone("84912345678") == "0912345678"
    assert normalise_phone("842838221234") == "02838221234"
    assert normalise_phone("0845123456") == "0845123456"  # a 084 mobile is left alone
    assert normalise_phone("8412") == "8412"


def test_084_mobile_is_not_read_as_country_code(lltp: Procedure) -> None:
    cleaned, errors = validate_form(lltp, {**_good(), "so_dien_thoai": "0845123456"},
                                    today=TODAY)
    assert errors == {}
    assert cleaned["so_dien_thoai"] == "0845123456"


# --- 3. Dates that cannot be in the future ------------------------------------------


NOT_FUTURE = {
    "ly-lich-tu-phap": {"ngay_sinh"},
    "dang-ky-khai-sinh": {"ngay_sinh_tre"},
    "dang-ky-ket-hon": {"ngay_sinh_chong", "ngay_sinh_vo"},
    "cap-ban-sao-trich-luc-ho-tich": {"ngay_sinh_nguoi_duoc_cap", "ngay_dang_ky"},
    "dang-ky-hoat-dong-van-phong-cong-chung": {"ngay_quyet_dinh"},
}


def test_birth_and_issue_dates_are_flagged_not_future(catalog: Catalog) -> None:
    flagged = {
        code: {f.key for f in p.form_fields if f.not_future}
        for code, p in catalog.procedures.items()
        if any(f.not_future for f in p.form_fields)
    }
    assert flagged == NOT_FUTURE
    dates = {(c, f.key) for c, p in catalog.procedures.items() for f in p.form_fields
             if f.type == "date"}
    assert dates == {(c, k) for c, keys in NOT_FUTURE.items() for k in keys}


def test_future_birth_date_is_refused(lltp: Procedure) -> None:
    cleaned, errors = validate_form(lltp, {**_good(), "ngay_sinh": "2026-12-05"}, today=TODAY)
    assert errors == {"ngay_sinh": "Ngày, tháng, năm sinh không được là một ngày trong tương lai"}
    assert "ngay_sinh" not in cleaned


def test_today_and_past_dates_are_accepted(lltp: Procedure) -> None:
    for day in ("2026-12-04", "2026-12-03", "1950-01-01"):
        cleaned, errors = validate_form(
            lltp, {**_good(), "ngay_sinh": day, "so_dinh_danh": "079050001234"
                   if day.startswith("19") else "079226001234"}, today=TODAY)
        assert errors == {}, day
        assert "ngay_sinh" not in errors, day
        assert cleaned["ngay_sinh"] == day


def test_today_defaults_to_vietnam_date(lltp: Procedure) -> None:
    far = validate_form(lltp, {**_good(), "ngay_sinh": "2999-01-01"})[1]
    assert far["ngay_sinh"] == MSG_NOT_FUTURE.format(label="Ngày, tháng, năm sinh")


def test_vietnam_today_is_used_not_utc(
    lltp: Procedure, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 20:00 UTC on 4 December it is already 5 December in Hà Nội (UTC+7)."""
    from datetime import UTC, datetime

    import dichvucong.forms.validation as validation

    class _Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            moment = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
            return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)

    monkeypatch.setattr(validation, "datetime", _Clock)
    assert validation.vn_today() == date(2026, 12, 5)
    _, errors = validate_form(lltp, {**_good(), "ngay_sinh": "2026-12-05",
                                     "so_dinh_danh": "079226001234"})
    assert "ngay_sinh" not in errors


def test_future_decision_date_is_refused(catalog: Catalog) -> None:
    p = catalog.procedures["dang-ky-hoat-dong-van-phong-cong-chung"]
    _, errors = validate_form(p, {"ngay_quyet_dinh": "2027-01-01"}, today=TODAY)
    assert errors["ngay_quyet_dinh"] == (
        "Ngày ký Quyết định cho phép thành lập không được là một ngày trong tương lai")
    _, errors = validate_form(p, {"ngay_quyet_dinh": "2026-11-30"}, today=TODAY)
    assert "ngay_quyet_dinh" not in errors


def test_optional_future_registration_date_is_refused(catalog: Catalog) -> None:
    p = catalog.procedures["cap-ban-sao-trich-luc-ho-tich"]
    _, errors = validate_form(p, {"ngay_dang_ky": "2027-03-01"}, today=TODAY)
    assert errors["ngay_dang_ky"].endswith("không được là một ngày trong tương lai")
    _, errors = validate_form(p, {"ngay_dang_ky": ""}, today=TODAY)
    assert "ngay_dang_ky" not in errors


def test_date_objects_are_checked_too(lltp: Procedure) -> None:
    from datetime import datetime

    _, errors = validate_form(lltp, {**_good(), "ngay_sinh": date(2027, 1, 1)}, today=TODAY)
    assert "ngay_sinh" in errors
    cleaned, errors = validate_form(
        lltp, {**_good(), "ngay_sinh": datetime(2003, 5, 14, 8, 30)}, today=TODAY)
    assert errors == {} and cleaned["ngay_sinh"] == "2003-05-14"


def test_not_future_only_on_date_fields() -> None:
    assert FormField(key="ngay", label="Ngày", type="date", not_future=True).not_future
    assert not FormField(key="ngay", label="Ngày", type="date").not_future
    with pytest.raises(ValidationError, match="not_future: only for date fields"):
        FormField(key="ho_ten", label="Họ và tên", type="text", not_future=True)
