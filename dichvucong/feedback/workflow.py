"""FeedbackWorkflow: one piece of feedback (phản ánh, kiến nghị) until it is answered.

The agency answers within N working days (3 by the Đồng Nai regulation; the
number comes from settings in the input). The due moment comes from the
``plan_deadline`` local activity (working-day calendar); one working day before
it the agency's officials get an at-risk notice, at it an overdue notice. An
official answers through the ``answer`` Update; the answer may be published in
the public Q&A; the citizen is notified (their account, or the contact left with
feedback sent without one: ``notify_feedback`` reads the address from the row).
Deterministic: time from ``workflow.now()``, every side effect in an activity
called by name.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from dichvucong.activities.contracts import Deadline, DeadlineRequest
    from dichvucong.feedback.messages import (
        SEQ_ANSWERED,
        SEQ_AT_RISK,
        SEQ_OVERDUE,
        SEQ_RECEIVED,
        FeedbackAnswerInput,
        FeedbackAnswerRecord,
        FeedbackDueRecord,
        FeedbackInput,
        FeedbackNotice,
        FeedbackOverdueRecord,
        FeedbackState,
    )
    from dichvucong.workflows.texts import fmt_moment

DB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
DB_TIMEOUT = timedelta(seconds=30)

# Changes made while feedback was running (``workflow.patched`` ids; a case that passed
# the change before its worker knew it replays as it ran). contact-answer-v1: the answer
# to feedback sent without an account goes to the contact its sender left, not nowhere.
CONTACT_ANSWER = "feedback-contact-answer-v1"

REFUSALS = {
    "answered": "Phản ánh, kiến nghị này đã được trả lời.",
    "empty": "Vui lòng nhập nội dung trả lời.",
}


@workflow.defn(name="FeedbackWorkflow")
class FeedbackWorkflow:
    @workflow.init
    def __init__(self, inp: FeedbackInput) -> None:
        self._inp = inp
        self._due: Deadline | None = None
        self._overdue = False
        self._answer: FeedbackAnswerInput | None = None
        self._answered_at = None
        self._recorded = False

    @workflow.run
    async def run(self, inp: FeedbackInput) -> FeedbackState:
        self._due = await workflow.execute_local_activity(
            "plan_deadline",
            DeadlineRequest(
                start=inp.received_at, working_days=inp.answer_days, warn_days=inp.warn_days
            ),
            result_type=Deadline,
            start_to_close_timeout=timedelta(seconds=10),
            summary="Tính hạn trả lời theo ngày làm việc",
        )
        await workflow.execute_activity(
            "record_feedback_due",
            FeedbackDueRecord(code=inp.code, due_at=self._due.due_at),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary="Ghi hạn trả lời",
        )
        await self._notify(SEQ_RECEIVED, "feedback_received", "agency")
        self._details()

        for moment, seq, kind in (
            (self._due.warn_at, SEQ_AT_RISK, "feedback_at_risk"),
            (self._due.due_at, SEQ_OVERDUE, "feedback_overdue"),
        ):
            if moment is None or self._answer is not None:
                continue
            wait = moment - workflow.now()
            if wait > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: self._answer is not None, timeout=wait, timeout_summary=kind
                    )
                    continue
                except TimeoutError:
                    pass
            if kind == "feedback_overdue":
                self._overdue = True
                await workflow.execute_activity(
                    "mark_feedback_overdue",
                    FeedbackOverdueRecord(code=inp.code),
                    start_to_close_timeout=DB_TIMEOUT,
                    retry_policy=DB_RETRY,
                    summary="Đánh dấu quá hạn",
                )
            await self._notify(seq, kind, "agency")
            self._details()

        await workflow.wait_condition(lambda: self._answer is not None)
        answer = self._answer
        assert answer is not None
        self._answered_at = workflow.now()
        await workflow.execute_activity(
            "record_feedback_answer",
            FeedbackAnswerRecord(
                code=inp.code,
                answered_at=self._answered_at,
                answered_by=answer.official_id,
                answer=answer.text.strip(),
                published=answer.publish,
                on_time=self._answered_at <= self._due.due_at,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary="Ghi câu trả lời",
        )
        await self._notify(SEQ_ANSWERED, "feedback_answered", "citizen")
        self._recorded = True
        self._details()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    @workflow.query
    def state(self) -> FeedbackState:
        answer = self._answer if self._recorded else None
        return FeedbackState(
            code=self._inp.code,
            status="ANSWERED" if answer else "RECEIVED",
            due_at=self._due.due_at if self._due else None,
            warn_at=self._due.warn_at if self._due else None,
            overdue=self._overdue,
            answered_at=self._answered_at if answer else None,
            answered_by=answer.official_id if answer else None,
            published=answer.publish if answer else False,
        )

    @workflow.update(name="answer")
    async def answer(self, inp: FeedbackAnswerInput) -> FeedbackState:
        self._answer = inp
        await workflow.wait_condition(lambda: self._recorded)
        return self.state()

    @answer.validator
    def _validate_answer(self, inp: FeedbackAnswerInput) -> None:
        if self._answer is not None:
            raise ApplicationError(REFUSALS["answered"], type="ActionRefused", non_retryable=True)
        if not inp.text.strip():
            raise ApplicationError(REFUSALS["empty"], type="ActionRefused", non_retryable=True)

    async def _notify(self, seq: int, kind: str, audience: str) -> None:
        inp = self._inp
        if audience == "citizen" and inp.citizen_id is None and not workflow.patched(
            CONTACT_ANSWER
        ):
            return  # before the change: no account, no notice
        await workflow.execute_activity(
            "notify_feedback",
            FeedbackNotice(
                code=inp.code,
                seq=seq,
                kind=kind,
                audience=audience,
                agency_code=inp.agency_code,
                subject=inp.subject,
                citizen_id=inp.citizen_id,
                roles=list(inp.notify_roles) if audience == "agency" else [],
                due_at=self._due.due_at if self._due else None,
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary=f"Thông báo: {kind}",
        )

    def _details(self) -> None:
        due = fmt_moment(self._due.due_at if self._due else None)
        if self._recorded:
            text = f"Đã trả lời phản ánh {self._inp.code}."
        elif self._overdue:
            text = f"QUÁ HẠN trả lời (hạn {due}) — {self._inp.subject}"
        else:
            text = f"Chờ trả lời trước {due} — {self._inp.subject}"
        workflow.set_current_details(text)
