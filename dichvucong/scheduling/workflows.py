"""Small workflows the Temporal Schedules start. Each asks its activities for
everything outside (the calendar, the read model, the national portal), so the
workflow code stays deterministic."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from dichvucong.scheduling.contracts import (
        DayInfo,
        DigestInput,
        DigestResult,
        QuarterlyReportInput,
        QuarterlyReportResult,
        ResyncResult,
        SweepResult,
    )

VN_OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh has no daylight saving time
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5), maximum_attempts=5
)
SHORT = timedelta(seconds=30)
LONG = timedelta(minutes=30)


def _local_day() -> str:
    return (workflow.now() + VN_OFFSET).date().isoformat()


async def _day_info(day: str) -> DayInfo:
    return await workflow.execute_activity(
        "calendar_day",
        day,
        result_type=DayInfo,
        start_to_close_timeout=SHORT,
        retry_policy=RETRY,
        summary="Tra lịch làm việc",
    )


@workflow.defn(name="AtRiskDigest")
class AtRiskDigestWorkflow:
    """The morning digest to each agency: its cases due within ``at_risk_days``
    working days. Nothing on a day off."""

    @workflow.run
    async def run(self, inp: DigestInput | None = None) -> DigestResult:
        day = inp.day if inp and inp.day else _local_day()
        info = await _day_info(day)
        if not info.working_day:
            return DigestResult(day=day, skipped=True, reason=info.description or "ngày nghỉ")
        return await workflow.execute_activity(
            "send_at_risk_digest",
            DigestInput(day=day),
            result_type=DigestResult,
            start_to_close_timeout=LONG,
            retry_policy=RETRY,
            summary="Gửi danh sách hồ sơ sắp đến hạn",
        )


@workflow.defn(name="NationalResync")
class NationalResyncWorkflow:
    """Nightly: send again what the national portal has not acknowledged."""

    @workflow.run
    async def run(self) -> ResyncResult:
        return await workflow.execute_activity(
            "resync_national",
            result_type=ResyncResult,
            start_to_close_timeout=LONG,
            retry_policy=RETRY,
            summary="Đồng bộ lại Cổng DVC quốc gia",
        )


@workflow.defn(name="DocumentSweep")
class DocumentSweepWorkflow:
    """Remove uploaded files no dossier or citizen document refers to."""

    @workflow.run
    async def run(self) -> SweepResult:
        # First finish submissions whose workflow never started, so their files stay.
        await workflow.execute_activity(
            "reconcile_unstarted_dossiers",
            result_type=list[str],
            start_to_close_timeout=LONG,
            retry_policy=RETRY,
            summary="Hoàn tất hồ sơ chưa khởi động quy trình",
        )
        return await workflow.execute_activity(
            "sweep_documents",
            result_type=SweepResult,
            start_to_close_timeout=LONG,
            retry_policy=RETRY,
            summary="Dọn tệp tải lên không dùng",
        )


@workflow.defn(name="QuarterlyReport")
class QuarterlyReportWorkflow:
    """Started every morning of the first days of Jan/Apr/Jul/Oct: on the first
    working day, writes the report of the quarter just ended."""

    @workflow.run
    async def run(self, inp: QuarterlyReportInput | None = None) -> QuarterlyReportResult:
        if inp is None:
            info = await _day_info(_local_day())
            if not info.first_working_day_of_quarter:
                return QuarterlyReportResult(
                    skipped=True,
                    reason=f"{info.day}: chưa/không phải ngày làm việc đầu tiên của quý",
                )
            year, month = int(info.day[:4]), int(info.day[5:7])
            quarter = (month - 1) // 3  # the quarter just ended (0 = Q4 of last year)
            inp = (
                QuarterlyReportInput(year - 1, 4)
                if quarter == 0
                else QuarterlyReportInput(year, quarter)
            )
        return await workflow.execute_activity(
            "write_quarterly_report",
            inp,
            result_type=QuarterlyReportResult,
            start_to_close_timeout=LONG,
            retry_policy=RETRY,
            summary="Lập báo cáo quý",
        )


SCHEDULED_WORKFLOWS: list[type] = [
    AtRiskDigestWorkflow,
    NationalResyncWorkflow,
    DocumentSweepWorkflow,
    QuarterlyReportWorkflow,
]
