"""Report data: the indicators of a quarter or a year, per agency and for the province."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from sqlmodel import Session

from dichvucong.calendar import WorkCalendar
from dichvucong.catalog import Catalog
from dichvucong.db.engine import Database
from dichvucong.stats import Indicators, Period, report_period, scoped_statistics

Kind = Literal["int", "percent", "days"]
PROVINCE_SHEET = "Toàn tỉnh"
PROVINCE_NAME = "Toàn tỉnh Đồng Nai"


@dataclass(frozen=True)
class Row:
    key: str  # attribute of Indicators
    label: str
    kind: Kind


# Order and wording of the report (headers in Vietnamese, as the provincial office files them).
ROWS: tuple[Row, ...] = (
    Row("received", "Tổng số hồ sơ tiếp nhận", "int"),
    Row("received_online", "  - Tiếp nhận trực tuyến", "int"),
    Row("received_counter", "  - Tiếp nhận trực tiếp tại Bộ phận Một cửa", "int"),
    Row("received_postal", "  - Tiếp nhận qua dịch vụ bưu chính công ích", "int"),
    Row("online_rate", "Tỷ lệ hồ sơ trực tuyến", "percent"),
    Row("national_synced", "Số hồ sơ đã đồng bộ lên Cổng DVC quốc gia", "int"),
    Row("national_sync_rate", "Tỷ lệ đồng bộ lên Cổng DVC quốc gia", "percent"),
    Row(
        "online_rate_synced",
        "Tỷ lệ trực tuyến (tính theo Quyết định 766: × tỷ lệ đồng bộ)",
        "percent",
    ),
    Row("resolved", "Số hồ sơ đã giải quyết", "int"),
    Row("early", "  - Giải quyết trước hạn", "int"),
    Row("on_time", "  - Giải quyết đúng hạn", "int"),
    Row("late", "  - Giải quyết quá hạn", "int"),
    Row("rejected", "  - Trong đó: trả lại, từ chối giải quyết có lý do", "int"),
    Row("on_time_rate", "Tỷ lệ giải quyết trước hạn và đúng hạn", "percent"),
    Row("late_rate", "Tỷ lệ giải quyết quá hạn", "percent"),
    Row("average_processing_days", "Thời gian giải quyết trung bình (ngày làm việc)", "days"),
    Row("pending", "Số hồ sơ đang giải quyết cuối kỳ", "int"),
    Row("pending_overdue", "  - Trong đó: quá hạn", "int"),
    Row("refused", "Số hồ sơ từ chối tiếp nhận", "int"),
    Row("withdrawn", "Số hồ sơ rút, dừng giải quyết", "int"),
    Row("paid", "Số hồ sơ đã nộp phí, lệ phí", "int"),
    Row("paid_online", "  - Thanh toán trực tuyến", "int"),
    Row("with_fee", "Số hồ sơ tiếp nhận có phí, lệ phí", "int"),
    Row("with_fee_paid_online", "  - Trong đó: thanh toán trực tuyến", "int"),
    Row("online_payment_rate", "Tỷ lệ thanh toán trực tuyến", "percent"),
    Row("digitised", "Số hồ sơ có kết quả điện tử", "int"),
    Row("digitised_rate", "Tỷ lệ số hóa kết quả giải quyết", "percent"),
    Row("with_complaints", "Số hồ sơ có phản ánh, kiến nghị", "int"),
    Row(
        "satisfaction_rate", "Mức độ hài lòng (100% − tỷ lệ quá hạn − tỷ lệ có phản ánh)", "percent"
    ),
    Row("very_satisfied", "Đánh giá: rất hài lòng", "int"),
    Row("satisfied", "Đánh giá: hài lòng", "int"),
    Row("unsatisfied", "Đánh giá: không hài lòng", "int"),
    Row("feedback_received", "Số phản ánh, kiến nghị tiếp nhận", "int"),
    Row("feedback_answered", "  - Đã trả lời", "int"),
    Row("feedback_answered_on_time", "  - Trả lời đúng hạn", "int"),
    Row("feedback_overdue", "  - Quá hạn chưa trả lời", "int"),
    Row("feedback_not_yet_due", "  - Chưa đến hạn trả lời", "int"),
    Row("feedback_on_time_rate", "Tỷ lệ phản ánh, kiến nghị trả lời đúng hạn", "percent"),
)

# Decision 766 indicators our read model cannot compute, and why (printed on every report).
NOT_COMPUTED: tuple[str, ...] = (
    "Công khai, minh bạch (18 điểm): việc công khai TTHC, tiến độ trên Cổng quốc gia "
    "không được ghi nhận trong dữ liệu hồ sơ.",
    "Tái sử dụng dữ liệu đã số hóa: chưa ghi nhận giấy tờ nào được dùng lại từ kho dữ liệu "
    "công dân trong hồ sơ mới.",
    "Số hóa thành phần hồ sơ khi tiếp nhận trực tiếp: hồ sơ giấy không có bản điện tử được "
    "đánh dấu riêng.",
    "Điểm số theo thang 100 điểm: cần số liệu của Cổng Dịch vụ công quốc gia (đánh giá "
    "của người dân trên Cổng quốc gia, công khai TTHC) mà hệ thống này không có.",
    "Hồ sơ đang giải quyết cuối kỳ được dựng lại từ các mốc thời gian; «quá hạn» cuối kỳ "
    "dựa trên hạn hiện tại (sau khi hẹn lại), là số gần đúng.",
    "Thời gian giải quyết trung bình tính từ lúc tiếp nhận đến khi có kết quả, gồm cả thời "
    "gian chờ công dân bổ sung.",
    "Tỷ lệ đồng bộ lên Cổng DVC quốc gia tính theo xác nhận của Cổng quốc gia lưu trong hệ "
    "thống này (lần gửi hồ sơ đầu tiên); hồ sơ bị từ chối hoặc chưa gửi được không tính. Số "
    "liệu Cổng quốc gia công bố có thể chênh lệch nếu Cổng xử lý dữ liệu chậm.",
    "Tỷ lệ phản ánh, kiến nghị trả lời đúng hạn tính trên số phản ánh đã rõ kết quả (đã trả "
    "lời, hoặc quá hạn chưa trả lời); phản ánh chưa đến hạn trả lời không tính.",
)


@dataclass
class Section:
    code: str
    name: str
    indicators: Indicators

    def value(self, row: Row) -> float | int | None:
        return getattr(self.indicators, row.key)


@dataclass
class Report:
    period: Period
    generated_at: datetime
    agencies: list[Section]
    province: Section | None
    notes: tuple[str, ...] = NOT_COMPUTED
    rows: tuple[Row, ...] = ROWS
    title: str = "BÁO CÁO TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def sections(self) -> list[Section]:
        """The province first (if any), then each agency: one sheet each."""
        return ([self.province] if self.province else []) + self.agencies


ProgressCallback = Callable[[int, int, str], None]


def build_report(
    db: Database | Session,
    catalog: Catalog,
    calendar: WorkCalendar,
    year: int,
    quarter: int | None = None,
    agency: str | None = None,
    progress: ProgressCallback | None = None,
    *,
    now: datetime | None = None,
) -> Report:
    """The quarter's (or the year's) report. With ``agency`` only that agency, no
    province sheet; otherwise every agency of the catalog plus the province."""
    if agency is not None and agency not in catalog.agencies:
        raise ValueError(f"không có cơ quan mã {agency}")
    period = report_period(year, quarter)
    codes = [agency] if agency else sorted(catalog.agencies)
    stats = scoped_statistics(
        db,
        period,
        scope=None if agency is None else codes,
        listed=codes,
        calendar=calendar,
        now=now,
        progress=progress,
    )
    # Dossiers of agencies no longer in the catalog still count for the province.
    known = [
        Section(c, catalog.agencies[c].name, stats.by_agency.get(c, Indicators())) for c in codes
    ]
    unknown = [Section(c, c, ind) for c, ind in sorted(stats.by_agency.items()) if c not in codes]
    sections = known + unknown
    province = None
    if agency is None:
        total = Indicators()
        for section in sections:
            total = total + section.indicators
        province = Section(PROVINCE_SHEET, PROVINCE_NAME, total)
    return Report(
        period=period, generated_at=now or datetime.now(UTC), agencies=sections, province=province
    )
