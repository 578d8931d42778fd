"""Vietnamese text of the officials' feedback and notice pages."""

from __future__ import annotations

STATE_LABELS: dict[str, str] = {
    "answered": "Đã trả lời",
    "overdue": "Quá hạn trả lời",
    "soon": "Đến hạn trong 1 ngày làm việc",
    "open": "Chờ trả lời",
}

PAGE_MESSAGES: dict[str, str] = {
    "not_found": "Không tìm thấy phản ánh, kiến nghị.",
    "answer_empty": "Vui lòng nhập nội dung trả lời.",
    "answer_too_long": "Nội dung trả lời quá dài (tối đa {n} ký tự).",
    "control_character": "Nội dung có ký tự không hợp lệ.",
    "answered": "Đã gửi câu trả lời cho phản ánh, kiến nghị {code}.",
}
