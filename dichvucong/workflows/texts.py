"""Vietnamese texts the workflow shows: refusal reasons of its validators, the
current details and summaries read in the Temporal UI. A message catalog, kept
out of the workflow logic. Pure data and string formatting: safe in the sandbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

# Vietnam has no daylight saving time: a fixed offset formats the same as the
# zone database and needs no file access inside the workflow sandbox.
VN_OFFSET = timezone(timedelta(hours=7))

STATUS_LABELS: dict[str, str] = {
    "SUBMITTED": "Chờ tiếp nhận",
    "SUPPLEMENT_REQUESTED": "Chờ bổ sung hồ sơ",
    "PROCESSING": "Đang xử lý",
    "AWAITING_PAYMENT": "Chờ nộp phí, lệ phí",
    "RESULT_READY": "Có kết quả, chờ trả",
    "DISPATCHED": "Đã gửi kết quả qua bưu chính",
    "COMPLETED": "Đã hoàn thành",
    "REFUSED": "Từ chối tiếp nhận",
    "REJECTED": "Từ chối giải quyết",
    "WITHDRAWN": "Đã rút / đóng hồ sơ",
}

ACTION_LABELS: dict[str, str] = {
    "submit": "Nộp hồ sơ",
    "accept": "Tiếp nhận",
    "refuse": "Từ chối tiếp nhận",
    "request_supplement": "Yêu cầu bổ sung",
    "supplement": "Bổ sung hồ sơ",
    "withdraw": "Rút hồ sơ",
    "approve": "Chuyển bước / phê duyệt",
    "send_back": "Trả lại bước trước",
    "reject": "Từ chối giải quyết",
    "apologize": "Xin lỗi, hẹn lại ngày trả",
    "payment_confirmed": "Thanh toán trực tuyến",
    "payment_mismatch": "Thanh toán không khớp",
    "record_counter_payment": "Nộp phí tại quầy",
    "issue_result": "Ban hành kết quả",
    "dispatch": "Gửi bưu chính",
    "redispatch": "Gửi lại bưu chính",
    "postal_update": "Cập nhật bưu chính",
    "hand_over": "Trả kết quả tại quầy",
    "reception_late": "Quá hạn tiếp nhận",
    "at_risk": "Sắp đến hạn",
    "overdue": "Quá hạn xử lý",
    "payment_reminder": "Nhắc nộp phí",
    "payment_expired": "Hết hạn thanh toán",
    "supplement_expired": "Hết hạn bổ sung",
    "refund_requested": "Yêu cầu hoàn phí",
    "refund_failed": "Hoàn phí không thành công",
}

# Validator refusals: the caller (an official's page, the API's 409) shows these.
REFUSALS: dict[str, str] = {
    "closed": "Hồ sơ đã kết thúc ({status}); không thể thực hiện thao tác này.",
    "wrong_status": "Không thể «{action}» khi hồ sơ đang ở trạng thái «{status}».",
    "wrong_role": "Vai trò «{role}» không được «{action}» ở bước hiện tại.",
    "reason_required": "Vui lòng nêu lý do.",
    "items_required": "Vui lòng liệt kê đầy đủ các giấy tờ cần bổ sung.",
    "supplement_once": (
        "Hồ sơ đã được yêu cầu bổ sung một lần khi tiếp nhận; yêu cầu bổ sung phải nêu đầy đủ "
        "các nội dung trong một lần."
    ),
    "supplement_late": (
        "Đã quá {days} ngày làm việc kể từ khi tiếp nhận (đến {until}): không còn được yêu cầu "
        "bổ sung hồ sơ."
    ),
    "no_previous_step": "Không có bước «{to_step}» trước bước hiện tại để trả lại.",
    "apology_used": "Hồ sơ đã được hẹn lại một lần; pháp luật chỉ cho phép hẹn lại một lần.",
    "apology_not_due": "Chỉ xin lỗi và hẹn lại khi hồ sơ sắp đến hạn hoặc đã quá hạn.",
    "apology_date": "Ngày hẹn mới phải sau ngày hẹn hiện tại ({due}).",
    "apology_past": "Ngày hẹn mới phải sau thời điểm hiện tại ({now}).",
    "stale_page": "Hồ sơ đã thay đổi kể từ khi trang được mở; vui lòng xem lại hồ sơ rồi "
    "thao tác lại.",
    "apology_off_hours": "Ngày hẹn mới phải vào giờ làm việc của một ngày làm việc "
    "({due} là ngày nghỉ hoặc ngoài giờ làm việc).",
    "amount_mismatch": "Số tiền {amount:,} đồng không khớp với phí, lệ phí {fee:,} đồng.",
    "receipt_required": "Vui lòng nhập số biên lai.",
    "documents_required": "Vui lòng đính kèm văn bản kết quả.",
    "not_postal": "Hồ sơ không chọn nhận kết quả qua bưu chính.",
    "address_required": "Vui lòng nhập địa chỉ nhận kết quả.",
    "already_paid": "Hồ sơ đã được thanh toán.",
    "received_at_online": "Hồ sơ trực tuyến được tiếp nhận vào thời điểm cán bộ tiếp nhận.",
    "received_at_range": "Thời điểm tiếp nhận phải sau khi nộp hồ sơ và không ở tương lai.",
    "timezone_required": "Thời điểm phải ghi kèm múi giờ (ví dụ 2027-01-29T16:00:00+07:00).",
    "control_character": "Nội dung có ký tự không hợp lệ.",
    "text_too_long": "Nội dung không được dài quá {n} ký tự.",
}

# Notes the workflow writes on a transition of its own.
NOTES: dict[str, str] = {
    "dispatch_rejected": (
        "Bưu chính từ chối nhận gửi kết quả. Kết quả chờ tại bộ phận một cửa: cập nhật địa chỉ "
        "và gửi lại, hoặc trả kết quả tại quầy."
    ),
    # An online payment for a case already paid at the counter (refunded by the case).
    "double_refund_reason": "Hoàn tiền nộp trùng: hồ sơ đã nộp phí, lệ phí tại quầy",
    "double_refund_requested": (
        "Cổng thanh toán báo đã thu {amount:,} đồng (giao dịch {transaction}) trong khi hồ sơ "
        "đã nộp phí, lệ phí tại quầy; đã yêu cầu hoàn trả (mã hoàn tiền {ref})."
    ),
    "double_refund_failed": (
        "Cổng thanh toán báo thu trùng {amount:,} đồng nhưng từ chối hoàn trả: {reason}. Kế toán "
        "cơ quan hoàn trả trực tiếp cho công dân."
    ),
    # A payment the gateway took after its case closed (LateRefundWorkflow).
    "late_payment": (
        "Cổng thanh toán báo đã thu {amount:,} đồng (giao dịch {transaction}) sau khi hồ sơ "
        "đã kết thúc; khoản tiền được hoàn trả cho công dân."
    ),
    "late_refund_reason": "Hoàn tiền thanh toán sau khi hồ sơ đã kết thúc",
    "late_refund_requested": "Đã yêu cầu cổng thanh toán hoàn {amount:,} đồng (mã hoàn tiền {ref}).",
    "late_refund_failed": (
        "Cổng thanh toán từ chối hoàn {amount:,} đồng: {reason}. Kế toán cơ quan hoàn trả "
        "trực tiếp cho công dân."
    ),
}

DETAILS: dict[str, str] = {
    "SUBMITTED": "Chờ tiếp nhận (hạn tiếp nhận {deadline}).",
    "SUPPLEMENT_REQUESTED": "Chờ công dân bổ sung: {items} (đến {deadline}).",
    "PROCESSING": "Bước «{step}» ({role}) — hẹn trả {due}.",
    "ISSUE": "Chờ ban hành kết quả — hẹn trả {due}.",
    "AWAITING_PAYMENT": "Chờ nộp {fee:,} đồng (hết hạn {deadline}).",
    "RESULT_READY": "Có kết quả, chờ trả tại quầy ({delivery}).",
    "DISPATCHED": "Đã gửi bưu chính, mã vận đơn {tracking}.",
    "FINAL": "Đã kết thúc: {status}.",
}

PAYMENT_LABELS: dict[str, str] = {
    "none": "",
    "pending": "chưa nộp",
    "paid": "đã nộp",
    "expired": "hết hạn nộp",
    "refund_requested": "đang hoàn phí",
    "refund_failed": "hoàn phí chưa thành công — cơ quan sẽ liên hệ để hoàn trả",
}

ROLE_LABELS: dict[str, str] = {
    "reception": "tiếp nhận",
    "specialist": "chuyên viên",
    "leader": "lãnh đạo",
    "issuer": "văn thư",
    "supervisor": "giám sát",
    "admin": "quản trị",
    "citizen": "công dân",
}


def fmt_moment(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(VN_OFFSET).strftime("%H:%M %d/%m/%Y")


def refusal(code: str, **values: object) -> str:
    return REFUSALS[code].format(**values)


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def static_summary(procedure_name: str, agency_name: str) -> str:
    return f"{procedure_name} — {agency_name}"
