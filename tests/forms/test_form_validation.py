"""validate_form: cleaned values and Vietnamese messages keyed by field."""

from __future__ import annotations

from typing import Any

import pytest

from dichvucong.catalog import load_catalog
from dichvucong.catalog.models import Procedure
from dichvucong.forms import validate_form
from dichvucong.forms.validation import id_number_matches_birth_date


@pytest.fixture(scope="module")
def lltp() -> Procedure:
    return load_catalog().procedures["ly-lich-tu-phap"]


def _good() -> dict[str, Any]:
    return {
        "ho_ten": "  Nguyễn   Văn An ",
        "gioi_tinh": "nam",
        "ngay_sinh": "2003-05-14",
        "noi_sinh": "Biên Hòa, Đồng Nai",
        "quoc_tich": "Việt Nam",
        "so_dinh_danh": "079203001234",
        "noi_thuong_tru": "Phường Tân Phong, Biên Hòa",
        "so_dien_thoai": "+84 912 345 678",
        "email": "An.Nguyen@Example.vn",
        "loai_phieu": "1",
        "muc_dich": "Bổ sung hồ sơ xin việc",
        "so_ban": "3",
        "doi_tuong_phi": "khong",
        "cam_doan": "on",
    }


def test_valid_form_is_cleaned(lltp: Procedure) -> None:
    cleaned, errors = validate_form(lltp, {**_good(), "hacker": "x", "noi_tam_tru": ""})
    assert errors == {}
    assert cleaned["ho_ten"] == "Nguyễn Văn An"
    assert cleaned["so_ban"] == 3
    assert cleaned["so_dien_thoai"] == "0912345678"
    assert cleaned["email"] == "an.nguyen@example.vn"
    assert cleaned["ngay_sinh"] == "2003-05-14"
    assert cleaned["cam_doan"] is True
    assert cleaned["xac_nhan_cam_dam_nhiem"] is False
    assert "hacker" not in cleaned and "noi_tam_tru" not in cleaned


def test_required_messages(lltp: Procedure) -> None:
    _, errors = validate_form(lltp, {})
    assert errors["ho_ten"] == "Vui lòng nhập Họ và tên"
    assert errors["gioi_tinh"] == "Vui lòng chọn Giới tính"
    assert errors["cam_doan"].startswith("Vui lòng xác nhận: Tôi xin cam đoan")
    assert "email" not in errors and "noi_tam_tru" not in errors


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ngay_sinh", "14/05/2003", "Ngày không hợp lệ (định dạng YYYY-MM-DD)"),
        ("ngay_sinh", "2003-02-30", "Ngày không hợp lệ (định dạng YYYY-MM-DD)"),
        ("so_dinh_danh", "07920300123", "Số định danh cá nhân (CCCD) phải gồm đúng 12 chữ số"),
        ("so_dinh_danh", "07920300123A", "Số định danh cá nhân (CCCD) phải gồm đúng 12 chữ số"),
        ("so_dien_thoai", "12345", "Số điện thoại không hợp lệ (di động: 10 chữ số; cố định: 11 chữ số bắt đầu bằng 02)"),
        ("email", "an.nguyen@", "Địa chỉ thư điện tử không hợp lệ"),
        ("so_ban", "mười", "Số lượng Phiếu yêu cầu cấp phải là một số"),
        ("so_ban", "0", "Số lượng Phiếu yêu cầu cấp phải lớn hơn hoặc bằng 1"),
        ("so_ban", 11, "Số lượng Phiếu yêu cầu cấp phải nhỏ hơn hoặc bằng 10"),
        ("loai_phieu", "3", "Lựa chọn không hợp lệ cho Loại Phiếu yêu cầu cấp"),
        ("ho_ten", "A" * 101, "Họ và tên không được dài quá 100 ký tự"),
        ("cam_doan", "", "Vui lòng xác nhận: Tôi xin cam đoan những lời khai trên là đúng "
                         "sự thật và chịu trách nhiệm trước pháp luật về lời khai của mình"),
    ],
)
def test_field_errors(lltp: Procedure, key: str, value: Any, message: str) -> None:
    cleaned, errors = validate_form(lltp, {**_good(), key: value})
    assert errors == {key: message}


def test_id_number_must_match_birth_year(lltp: Procedure) -> None:
    _, errors = validate_form(lltp, {**_good(), "ngay_sinh": "1993-05-14"})
    assert errors["so_dinh_danh"].startswith("Số định danh cá nhân (CCCD) không khớp với năm sinh")


def test_id_number_century_digit() -> None:
    from datetime import date

    assert id_number_matches_birth_date("079203001234", date(2003, 1, 1))
    assert id_number_matches_birth_date("075185000001", date(1985, 1, 1))  # female, 1900s
    assert not id_number_matches_birth_date("079003001234", date(2003, 1, 1))


def test_number_cleaning_keeps_ints() -> None:
    p = load_catalog().procedures["chung-thuc-ban-sao"]
    cleaned, errors = validate_form(p, {"ten_giay_to": "Bằng tốt nghiệp", "so_trang": 5.0,
                                        "so_ban": "2"})
    assert errors == {}
    assert cleaned == {"ten_giay_to": "Bằng tốt nghiệp", "so_trang": 5, "so_ban": 2}
