"""DossierWorkflow: one citizen's dossier from submission to result.

receive -> process (catalog steps) -> pay -> return the result, on working-day
deadlines computed by an activity. Officials' decisions arrive as Updates
(validated, answered at once) or signals of the same name; the main loop
applies them one at a time so every transition is recorded in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from dichvucong import search_attributes as sa
    from dichvucong.activities.contracts import (
        Deadline,
        DeadlineRequest,
        DossierSnapshot,
        NationalSyncRequest,
        NationalSyncResult,
        NotifyRequest,
        PaymentQuery,
        PaymentStatus,
        RefundRequest,
        RefundResult,
        Shipment,
        ShipmentRequest,
        TransitionRecord,
    )
    from dichvucong.workflows import patches, texts
    from dichvucong.workflows.late_refund import SUMMARY as LATE_REFUND_SUMMARY
    from dichvucong.workflows.late_refund import LateRefundInput, late_refund_id
    from dichvucong.workflows.messages import (
        FINAL_STATUSES,
        STEP_DELIVERY,
        STEP_ISSUE,
        STEP_PAYMENT,
        STEP_RECEPTION,
        AcceptInput,
        ApologizeInput,
        ApproveInput,
        CaseRules,
        CaseStatus,
        CounterPaymentInput,
        DocumentRef,
        DossierInput,
        DossierOutcome,
        DossierState,
        DueChange,
        HandOver,
        HandOverInput,
        IssueResultInput,
        PaymentConfirmedInput,
        PaymentStage,
        PostalUpdateInput,
        RedispatchInput,
        RefuseInput,
        RejectInput,
        RequestSupplementInput,
        SendBackInput,
        SupplementInput,
        WithdrawInput,
    )
    from dichvucong.workflows.references import GATEWAY_EXPIRY_MARGIN, payment_reference
    from dichvucong.workflows.rules import allowed_actions

# Writes to our own database: retry until it is back (a DB outage must not lose a transition).
DB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
# One attempt at our own database; a dead worker's attempt is retried after this.
DB_ATTEMPT = timedelta(seconds=15)
OUTSIDE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5)
)


@dataclass
class _Ticket:
    """One decision waiting for the main loop; its update handler waits on ``done``."""

    action: str
    payload: Any
    done: bool = False
    error: str | None = None


@dataclass
class _Timers:
    reception_late: datetime | None = None
    warn: datetime | None = None
    due: datetime | None = None
    supplement_expiry: datetime | None = None
    payment_reminder: datetime | None = None
    payment_expiry: datetime | None = None
    payment_check: datetime | None = None

    def earliest(self) -> datetime | None:
        moments = [m for m in vars(self).values() if m is not None]
        return min(moments) if moments else None


class _Alarm:
    """One timer for the earliest deadline, kept while that moment stays the earliest:
    a decision that leaves the deadlines as they were (an approval within the same
    statutory limit) starts and cancels no timer (two history events and a timer task
    on the server each)."""

    def __init__(self) -> None:
        self.at: datetime | None = None
        self.rang = False
        self._task: asyncio.Task[None] | None = None

    def arm(self, moment: datetime | None, summary: str | None) -> None:
        if moment == self.at and self._task is not None and not self._task.done():
            return
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self.at, self.rang, self._task = moment, False, None
        if moment is not None:
            self._task = asyncio.create_task(self._ring(moment, summary))

    async def _ring(self, moment: datetime, summary: str | None) -> None:
        await workflow.sleep(moment - workflow.now(), summary=summary)
        self.rang = True


@dataclass
class _Case:
    status: str = CaseStatus.SUBMITTED
    step_index: int = -1  # into inp.steps; len(steps) = waiting for issue_result
    seq: int = -1
    received_at: datetime | None = None
    due_at: datetime | None = None
    statutory_due_at: datetime | None = None
    finished_at: datetime | None = None
    closed_at: datetime | None = None
    overdue: bool = False
    was_overdue: bool = False
    at_risk: bool = False
    timeliness: str | None = None
    supplement_count: int = 0
    apology_used: bool = False
    payment_status: str = "none"  # none | pending | paid | expired | refund_requested | refund_failed
    payment_method: str | None = None
    paid_at: datetime | None = None
    tracking_number: str | None = None
    dispatched_at: datetime | None = None
    dispatch_late: bool = False
    dispatch_attempts: int = 0
    supplement_from: str | None = None
    # Processing may ask for a supplement only until this moment (N working days after
    # reception); None for cases planned before the limit existed.
    supplement_request_until: datetime | None = None
    reception_supplement_asked: bool = False  # reception answers an incomplete dossier once
    reception_due_at: datetime | None = None  # the reception limit of the current wait
    pending_items: list[str] = field(default_factory=list)
    result_documents: list[DocumentRef] = field(default_factory=list)
    hand_overs: list[HandOver] = field(default_factory=list)
    due_history: list[DueChange] = field(default_factory=list)
    delivery_address: str | None = None
    status_since: datetime | None = None


@workflow.defn(name="DossierWorkflow")
class DossierWorkflow:
    @workflow.init
    def __init__(self, inp: DossierInput) -> None:
        self._inp = inp
        self._rules = inp.rules or CaseRules()
        self._case = _Case(delivery_address=inp.delivery_address)
        self._timers = _Timers()
        self._alarm = _Alarm()
        self._inbox: list[_Ticket] = []
        # Documents that the next recorded transition adds to the read model.
        self._attached: tuple[list[DocumentRef], str] | None = None
        self._national_synced = False
        self._sync_queue: list[NationalSyncRequest] = []
        self._sync_pumping = False
        self._started_with = frozenset(inp.patches)
        # A second payment (online, after the counter's) was refunded: at most once a case.
        self._double_refunded = False

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, inp: DossierInput) -> DossierOutcome:
        unknown = self._started_with.difference(patches.KNOWN)
        if unknown:
            # Started by a newer API: fail this workflow task (it is retried) until a
            # worker that has these changes takes the case, instead of running old code.
            raise RuntimeError(f"this worker does not have the changes {sorted(unknown)}")
        case = self._case
        if inp.fee_amount > 0 and inp.payment_stage != PaymentStage.NONE:
            case.payment_status = "pending"
        deadline = await self._plan(inp.submitted_at, hours=self._rules.reception_limit_hours)
        self._timers.reception_late = case.reception_due_at = deadline.due_at
        await self._transition(
            "submit",
            CaseStatus.SUBMITTED,
            actor="citizen",
            documents=inp.documents,
            document_kind="submitted",
        )

        while case.status not in FINAL_STATUSES:
            earliest = self._timers.earliest()
            if earliest is not None and earliest <= workflow.now():
                # Already past (a paper dossier entered after its reception, an apology
                # date already gone): a zero timeout would mean "no timeout at all".
                await self._fire_due_timers()
                continue
            if self._patched(patches.STEADY_ALARM):
                self._alarm.arm(earliest, self._timer_summary() if earliest else None)
                await workflow.wait_condition(lambda: bool(self._inbox) or self._alarm.rang)
                if not self._inbox:
                    await self._fire_due_timers()
                    continue
            else:
                timeout = None if earliest is None else earliest - workflow.now()
                try:
                    await workflow.wait_condition(
                        lambda: bool(self._inbox),
                        timeout=timeout,
                        timeout_summary=self._timer_summary() if timeout is not None else None,
                    )
                except TimeoutError:
                    await self._fire_due_timers()
                    continue
            ticket = self._inbox.pop(0)
            try:
                self._check(ticket.action, ticket.payload)
                await self._apply(ticket.action, ticket.payload)
            except ValueError as refusal:
                ticket.error = str(refusal)
            ticket.done = True

        late_payments = [t.payload for t in self._inbox if t.action == "payment_confirmed"]
        for ticket in self._inbox:
            ticket.error = texts.refusal("closed", status=texts.status_label(case.status))
            ticket.done = True
        self._inbox.clear()
        if late_payments and self._patched(patches.CLOSING_PAYMENT_REFUND):
            # The gateway's callback arrived while the case was closing (its route saw it
            # open and answered "accepted"): the money is refunded as for a closed case.
            await self._refund_late_payments(late_payments)
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self._sync_pumping
        )
        return DossierOutcome(
            status=case.status, timeliness=case.timeliness, finished_at=case.finished_at
        )

    # ------------------------------------------------------------- queries

    @workflow.query
    def state(self) -> DossierState:
        case, inp = self._case, self._inp
        step_key, step_name = self._step_key_name()
        return DossierState(
            dossier_code=inp.dossier_code,
            status=case.status,
            step=step_key,
            step_name=step_name,
            due_at=case.due_at,
            statutory_due_at=case.statutory_due_at,
            overdue=case.overdue,
            was_overdue=case.was_overdue,
            supplement_count=case.supplement_count,
            apology_used=case.apology_used,
            payment_status=case.payment_status,
            fee_amount=inp.fee_amount,
            delivery=inp.delivery,
            tracking_number=case.tracking_number,
            seq=case.seq,
            allowed_actions=self._allowed(offered=True),
            hand_overs=list(case.hand_overs),
            due_history=list(case.due_history),
            pending_supplement_items=list(case.pending_items),
            result_documents=list(case.result_documents),
            timeliness=case.timeliness,
            received_at=case.received_at,
            finished_at=case.finished_at,
        )

    # ---------------------------------------- officials: updates + signals

    @workflow.update(name="accept")
    async def accept(self, inp: AcceptInput) -> DossierState:
        return await self._decide("accept", inp)

    @accept.validator
    def _v_accept(self, inp: AcceptInput) -> None:
        self._validate("accept", inp)

    @workflow.signal(name="accept")
    def accept_signal(self, inp: AcceptInput) -> None:
        self._enqueue_signal("accept", inp)

    @workflow.update(name="refuse")
    async def refuse(self, inp: RefuseInput) -> DossierState:
        return await self._decide("refuse", inp)

    @refuse.validator
    def _v_refuse(self, inp: RefuseInput) -> None:
        self._validate("refuse", inp)

    @workflow.signal(name="refuse")
    def refuse_signal(self, inp: RefuseInput) -> None:
        self._enqueue_signal("refuse", inp)

    @workflow.update(name="request_supplement")
    async def request_supplement(self, inp: RequestSupplementInput) -> DossierState:
        return await self._decide("request_supplement", inp)

    @request_supplement.validator
    def _v_request_supplement(self, inp: RequestSupplementInput) -> None:
        self._validate("request_supplement", inp)

    @workflow.signal(name="request_supplement")
    def request_supplement_signal(self, inp: RequestSupplementInput) -> None:
        self._enqueue_signal("request_supplement", inp)

    @workflow.update(name="approve")
    async def approve(self, inp: ApproveInput) -> DossierState:
        return await self._decide("approve", inp)

    @approve.validator
    def _v_approve(self, inp: ApproveInput) -> None:
        self._validate("approve", inp)

    @workflow.signal(name="approve")
    def approve_signal(self, inp: ApproveInput) -> None:
        self._enqueue_signal("approve", inp)

    @workflow.update(name="send_back")
    async def send_back(self, inp: SendBackInput) -> DossierState:
        return await self._decide("send_back", inp)

    @send_back.validator
    def _v_send_back(self, inp: SendBackInput) -> None:
        self._validate("send_back", inp)

    @workflow.signal(name="send_back")
    def send_back_signal(self, inp: SendBackInput) -> None:
        self._enqueue_signal("send_back", inp)

    @workflow.update(name="reject")
    async def reject(self, inp: RejectInput) -> DossierState:
        return await self._decide("reject", inp)

    @reject.validator
    def _v_reject(self, inp: RejectInput) -> None:
        self._validate("reject", inp)

    @workflow.signal(name="reject")
    def reject_signal(self, inp: RejectInput) -> None:
        self._enqueue_signal("reject", inp)

    @workflow.update(name="apologize")
    async def apologize(self, inp: ApologizeInput) -> DossierState:
        return await self._decide("apologize", inp)

    @apologize.validator
    def _v_apologize(self, inp: ApologizeInput) -> None:
        self._validate("apologize", inp)

    @workflow.signal(name="apologize")
    def apologize_signal(self, inp: ApologizeInput) -> None:
        self._enqueue_signal("apologize", inp)

    @workflow.update(name="record_counter_payment")
    async def record_counter_payment(self, inp: CounterPaymentInput) -> DossierState:
        return await self._decide("record_counter_payment", inp)

    @record_counter_payment.validator
    def _v_record_counter_payment(self, inp: CounterPaymentInput) -> None:
        self._validate("record_counter_payment", inp)

    @workflow.signal(name="record_counter_payment")
    def record_counter_payment_signal(self, inp: CounterPaymentInput) -> None:
        self._enqueue_signal("record_counter_payment", inp)

    @workflow.update(name="issue_result")
    async def issue_result(self, inp: IssueResultInput) -> DossierState:
        return await self._decide("issue_result", inp)

    @issue_result.validator
    def _v_issue_result(self, inp: IssueResultInput) -> None:
        self._validate("issue_result", inp)

    @workflow.signal(name="issue_result")
    def issue_result_signal(self, inp: IssueResultInput) -> None:
        self._enqueue_signal("issue_result", inp)

    @workflow.update(name="hand_over")
    async def hand_over(self, inp: HandOverInput) -> DossierState:
        return await self._decide("hand_over", inp)

    @hand_over.validator
    def _v_hand_over(self, inp: HandOverInput) -> None:
        self._validate("hand_over", inp)

    @workflow.signal(name="hand_over")
    def hand_over_signal(self, inp: HandOverInput) -> None:
        self._enqueue_signal("hand_over", inp)

    @workflow.update(name="redispatch")
    async def redispatch(self, inp: RedispatchInput) -> DossierState:
        return await self._decide("redispatch", inp)

    @redispatch.validator
    def _v_redispatch(self, inp: RedispatchInput) -> None:
        self._validate("redispatch", inp)

    @workflow.signal(name="redispatch")
    def redispatch_signal(self, inp: RedispatchInput) -> None:
        self._enqueue_signal("redispatch", inp)

    # ------------------------------ citizen and outside systems: signals

    @workflow.update(name="withdraw")
    async def withdraw(self, inp: WithdrawInput) -> DossierState:
        return await self._decide("withdraw", inp)

    @withdraw.validator
    def _v_withdraw(self, inp: WithdrawInput) -> None:
        self._validate("withdraw", inp)

    @workflow.signal(name="withdraw")
    def withdraw_signal(self, inp: WithdrawInput) -> None:
        self._enqueue_signal("withdraw", inp)

    @workflow.signal(name="supplement")
    def supplement(self, inp: SupplementInput) -> None:
        self._enqueue_signal("supplement", inp)

    # The citizen's supplement as an Update: the API learns whether it was taken before
    # it changes the read model's form data (the signal above stays for older callers).
    @workflow.update(name="submit_supplement")
    async def submit_supplement(self, inp: SupplementInput) -> DossierState:
        return await self._decide("supplement", inp)

    @submit_supplement.validator
    def _v_submit_supplement(self, inp: SupplementInput) -> None:
        self._validate("supplement", inp)

    @workflow.signal(name="payment_confirmed")
    def payment_confirmed(self, inp: PaymentConfirmedInput) -> None:
        # Mismatches are recorded by the main loop, not dropped here.
        self._inbox.append(_Ticket("payment_confirmed", inp))

    @workflow.signal(name="postal_update")
    def postal_update(self, inp: PostalUpdateInput) -> None:
        self._inbox.append(_Ticket("postal_update", inp))

    # --------------------------------------------------------- machinery

    def _patched(self, patch_id: str) -> bool:
        """A change this case was started with, or one it met while running."""
        return patch_id in self._started_with or workflow.patched(patch_id)

    def _plans_at_once(self) -> bool:
        """Independent deadlines asked together (parallel-plans-v1), unless the case
        keeps one local activity in flight at a time (serial-locals-v1)."""
        if self._patched(patches.SERIAL_LOCALS):
            return False
        return self._patched(patches.PARALLEL_PLANS)

    async def _decide(self, action: str, payload: Any) -> DossierState:
        ticket = _Ticket(action, payload)
        self._inbox.append(ticket)
        await workflow.wait_condition(lambda: ticket.done)
        if ticket.error is not None:
            raise ApplicationError(ticket.error, type="ActionRefused", non_retryable=True)
        return self.state()

    def _enqueue_signal(self, action: str, payload: Any) -> None:
        # A signal cannot answer; an invalid one is logged and ignored, never fails the case.
        # Any error, not only a refusal: a payload typed by hand in the Temporal UI may
        # hold what no check foresaw, and an error here would fail every workflow task.
        try:
            self._check(action, payload)
        except Exception as refusal:
            workflow.logger.warning("signal %s ignored: %s", action, refusal)
            return
        self._inbox.append(_Ticket(action, payload))

    def _validate(self, action: str, payload: Any) -> None:
        """Update validators: a refusal reaches the caller as a clean message, no history."""
        try:
            self._check(action, payload, validating=True)
        except ValueError as refusal:
            raise ApplicationError(str(refusal), type="ActionRefused", non_retryable=True) from None

    def _check(self, action: str, payload: Any, *, validating: bool = False) -> None:
        """Raise ValueError with a sentence for people if ``action`` is not allowed now.

        ``validating``: called by an Update validator (read-only, leaves no history)."""
        case = self._case
        if action in ("payment_confirmed", "postal_update"):
            return
        if case.status in FINAL_STATUSES:
            raise ValueError(texts.refusal("closed", status=texts.status_label(case.status)))
        seen = getattr(getattr(payload, "actor", None), "seen_seq", None)
        if seen is not None and seen != case.seq:
            raise ValueError(texts.refusal("stale_page"))
        allowed = self._allowed()
        holders = [role for role, actions in allowed.items() if action in actions]
        if action == "apologize" and not holders and case.status == CaseStatus.PROCESSING:
            raise ValueError(
                texts.refusal("apology_used" if case.apology_used else "apology_not_due")
            )
        if action == "pay" or not holders:
            raise ValueError(
                texts.refusal(
                    "wrong_status",
                    action=texts.action_label(action),
                    status=texts.status_label(case.status),
                )
            )
        role = getattr(getattr(payload, "actor", None), "role", None)
        if role is not None and role not in holders and role not in ("supervisor", "admin"):
            raise ValueError(
                texts.refusal(
                    "wrong_role",
                    role=texts.ROLE_LABELS.get(role, role),
                    action=texts.action_label(action),
                )
            )
        self._check_payload(action, payload, validating)

    def _refuses_since(self, patch_id: str, validating: bool) -> bool:
        """A refusal added while cases were running. A validator applies it to every case
        (``workflow.patched`` is not allowed there, and its refusal leaves no history);
        the signal handler and the main loop only where the case has the change, so a
        decision taken before it replays as it ran."""
        return validating or self._patched(patch_id)

    def _check_payload(self, action: str, payload: Any, validating: bool = False) -> None:
        case, inp = self._case, self._inp
        if _has_naive_moment(payload):
            # Compared with aware moments below, a TypeError that would fail the task.
            raise ValueError(texts.refusal("timezone_required"))
        if action == "accept" and payload.received_at is not None:
            if inp.channel == "online":
                raise ValueError(texts.refusal("received_at_online"))
            if payload.received_at > workflow.now() or payload.received_at < inp.submitted_at:
                raise ValueError(texts.refusal("received_at_range"))
        if action == "refuse" and not payload.reason.strip():
            raise ValueError(texts.refusal("reason_required"))
        if action == "request_supplement":
            self._check_supplement_request(payload)
        if action == "send_back":
            if not payload.reason.strip():
                raise ValueError(texts.refusal("reason_required"))
            earlier = [s.key for s in inp.steps[: max(case.step_index, 0)]]
            if payload.to_step not in earlier:
                raise ValueError(texts.refusal("no_previous_step", to_step=payload.to_step))
        if action == "reject" and not [r for r in payload.reasons if r.strip()]:
            raise ValueError(texts.refusal("reason_required"))
        if action == "apologize":
            if case.apology_used:
                raise ValueError(texts.refusal("apology_used"))
            if not payload.reason.strip():
                raise ValueError(texts.refusal("reason_required"))
            if case.due_at is not None and payload.new_due <= case.due_at:
                raise ValueError(texts.refusal("apology_date", due=texts.fmt_moment(case.due_at)))
            # A date already gone would use up the one reset and leave the case overdue.
            now = workflow.now()
            if payload.new_due <= now and self._refuses_since(patches.APOLOGY_AHEAD, validating):
                raise ValueError(texts.refusal("apology_past", now=texts.fmt_moment(now)))
        if action == "record_counter_payment":
            if not payload.receipt_no.strip():
                raise ValueError(texts.refusal("receipt_required"))
            if payload.amount != inp.fee_amount:
                raise ValueError(
                    texts.refusal("amount_mismatch", amount=payload.amount, fee=inp.fee_amount)
                )
        if action == "issue_result" and not payload.documents:
            raise ValueError(texts.refusal("documents_required"))
        if action == "redispatch" and not (
            self._given_address(payload, validating) or case.delivery_address
        ):
            raise ValueError(texts.refusal("address_required"))

    def _given_address(self, p: RedispatchInput, validating: bool = False) -> str | None:
        """The redispatch's new address; a blank one is none (the stored one is kept)."""
        blank = p.address is not None and not p.address.strip()
        if blank and self._refuses_since(patches.BLANK_ADDRESS, validating):
            return None
        return p.address

    def _check_supplement_request(self, payload: RequestSupplementInput) -> None:
        case = self._case
        if not [i for i in payload.items if i.strip()]:
            raise ValueError(texts.refusal("items_required"))
        if case.status == CaseStatus.SUBMITTED and case.reception_supplement_asked:
            raise ValueError(texts.refusal("supplement_once"))
        until = case.supplement_request_until
        if case.status == CaseStatus.PROCESSING and until is not None and workflow.now() > until:
            raise ValueError(
                texts.refusal(
                    "supplement_late",
                    days=self._rules.supplement_request_days,
                    until=texts.fmt_moment(until),
                )
            )

    def _allowed(self, *, offered: bool = False) -> dict[str, list[str]]:
        """What each role may do now; ``offered``: what the pages show (without the
        supplement requests ``_check_supplement_request`` would refuse)."""
        case, steps = self._case, self._inp.steps
        step_role = steps[case.step_index].role if 0 <= case.step_index < len(steps) else None
        step_key, _ = self._step_key_name()
        until = case.supplement_request_until
        return allowed_actions(
            status=case.status,
            step=step_key,
            step_role=step_role,
            step_index=case.step_index,
            last_step=case.step_index == len(steps) - 1,
            apology_open=(case.at_risk or case.overdue) and not case.apology_used,
            delivery=self._inp.delivery,
            paid=case.payment_status == "paid",
            reception_supplement_asked=offered and case.reception_supplement_asked,
            supplement_request_open=not offered or until is None or workflow.now() <= until,
        )

    def _step_key_name(self) -> tuple[str | None, str | None]:
        case, steps = self._case, self._inp.steps
        if case.status == CaseStatus.SUBMITTED:
            return STEP_RECEPTION, "Tiếp nhận hồ sơ"
        if case.status == CaseStatus.PROCESSING:
            if 0 <= case.step_index < len(steps):
                return steps[case.step_index].key, steps[case.step_index].name
            return STEP_ISSUE, "Ban hành kết quả"
        if case.status == CaseStatus.AWAITING_PAYMENT:
            return STEP_PAYMENT, "Nộp phí, lệ phí"
        if case.status in (CaseStatus.RESULT_READY, CaseStatus.DISPATCHED):
            return STEP_DELIVERY, "Trả kết quả"
        return None, None

    # ------------------------------------------------------ applying decisions

    async def _apply(self, action: str, p: Any) -> None:  # noqa: C901 - one dispatch table
        case, inp = self._case, self._inp
        actor = getattr(getattr(p, "actor", None), "official_id", None) or "citizen"
        if action == "accept":
            case.received_at = p.received_at or workflow.now()
            self._timers.reception_late = None
            if case.payment_status == "pending" and inp.payment_stage == PaymentStage.ON_SUBMISSION:
                await self._await_payment("accept", actor, p.note)
            else:
                await self._start_processing(
                    "accept",
                    actor,
                    p.note,
                    reason="received",
                    start=case.received_at,
                    # A paper dossier received after the cut-off moves on the next working
                    # day; so does a same-day procedure's, however it was filed.
                    cutoff=self._rules.paper_cutoff
                    if inp.channel != "online" or inp.time_limit_same_day
                    else None,
                )
        elif action == "refuse":
            await self._close(CaseStatus.REFUSED, "refuse", actor, p.reason)
        elif action == "withdraw":
            await self._close(CaseStatus.WITHDRAWN, "withdraw", "citizen", p.reason or None)
        elif action == "request_supplement":
            await self._request_supplement(p, actor)
        elif action == "supplement":
            await self._receive_supplement(p)
        elif action == "approve":
            await self._finish_step("approve", actor)
            case.step_index += 1
            await self._enter_step("approve", actor, p.note)
        elif action == "send_back":
            await self._finish_step("send_back", actor)
            case.step_index = [s.key for s in inp.steps].index(p.to_step)
            await self._enter_step("send_back", actor, p.reason)
        elif action == "reject":
            await self._finish_step("reject", actor)
            await self._close(CaseStatus.REJECTED, "reject", actor, "; ".join(p.reasons))
        elif action == "apologize":
            await self._apologize(p, actor)
        elif action == "record_counter_payment":
            await self._paid("record_counter_payment", actor, "counter", f"Biên lai {p.receipt_no}")
        elif action == "payment_confirmed":
            await self._payment_callback(p)
        elif action == "issue_result":
            await self._issue(p, actor)
        elif action == "redispatch":
            address = self._given_address(p)
            if address:
                case.delivery_address = address
            await self._dispatch("redispatch", actor)
        elif action == "postal_update":
            await self._postal_update(p)
        elif action == "hand_over":
            await self._complete("hand_over", actor, p.note)

    async def _start_processing(
        self,
        action: str,
        actor: str,
        note: str | None,
        *,
        reason: str,
        start: datetime | None = None,
        cutoff: str | None = None,
    ) -> None:
        """The statutory clock starts (or restarts from zero after a supplement)."""
        case, inp = self._case, self._inp
        received = reason == "received"
        statutory = self._plan(
            start or workflow.now(),
            days=inp.time_limit_days,
            hours=inp.time_limit_hours,
            same_day=inp.time_limit_same_day,
            warn_days=self._rules.at_risk_days,
            cutoff=cutoff,
            also_days=self._rules.supplement_request_days if received else 0,
        )
        first_step: Deadline | None = None
        if self._plans_at_once() and 0 <= max(case.step_index, 0) < len(inp.steps):
            # The first step's own budget does not depend on the statutory limit: both
            # are asked at once (one activation of the workflow instead of two).
            step = inp.steps[max(case.step_index, 0)]
            deadline, first_step = await asyncio.gather(
                statutory, self._plan(workflow.now(), days=step.budget_days)
            )
        else:
            deadline = await statutory
        if received:
            case.supplement_request_until = deadline.also_at
        case.due_at = case.statutory_due_at = deadline.due_at
        case.overdue = case.at_risk = False
        case.due_history.append(DueChange(at=workflow.now(), due_at=deadline.due_at, reason=reason))
        self._timers.due = deadline.due_at
        self._timers.warn = deadline.warn_at
        if case.step_index < 0:
            case.step_index = 0
        await self._enter_step(action, actor, note, planned=first_step)

    async def _enter_step(
        self, action: str, actor: str, note: str | None, *, planned: Deadline | None = None
    ) -> None:
        case, inp = self._case, self._inp
        from_status = case.status
        case.status = CaseStatus.PROCESSING
        if case.step_index < len(inp.steps):
            step = inp.steps[case.step_index]
            step_deadline = planned or await self._plan(workflow.now(), days=step.budget_days)
            case.hand_overs.append(
                HandOver(
                    step=step.key,
                    step_name=step.name,
                    role=step.role,
                    received_at=workflow.now(),
                    due_at=step_deadline.due_at,
                )
            )
        else:
            case.hand_overs.append(
                HandOver(
                    step=STEP_ISSUE,
                    step_name="Ban hành kết quả",
                    role="issuer",
                    received_at=workflow.now(),
                    due_at=case.due_at,
                )
            )
        await self._transition(
            action, CaseStatus.PROCESSING, actor=actor, note=note, from_status=from_status
        )

    async def _finish_step(self, action: str, actor: str) -> None:
        if not self._case.hand_overs:
            return
        current = self._case.hand_overs[-1]
        if current.finished_at is None:
            now = workflow.now()
            current.finished_at, current.official_id, current.action = now, actor, action
            current.result = _timeliness(now, current.due_at)

    async def _request_supplement(self, p: RequestSupplementInput, actor: str) -> None:
        case = self._case
        case.supplement_from = case.status
        case.pending_items = [i.strip() for i in p.items if i.strip()]
        if case.status == CaseStatus.SUBMITTED and self._patched(patches.RECEPTION_SUPPLEMENT):
            # Counted too: more than one request in all makes the case late (Decision 766).
            case.reception_supplement_asked = True
            case.supplement_count += 1
        if case.status == CaseStatus.PROCESSING:
            await self._finish_step("request_supplement", actor)
            case.supplement_count += 1
            # The clock stops while the citizen works on it; it restarts from zero later.
            self._timers.due = self._timers.warn = None
            case.overdue = case.at_risk = False
        self._timers.reception_late = None
        expiry = await self._plan(workflow.now(), days=self._rules.supplement_window_days)
        self._timers.supplement_expiry = expiry.due_at
        await self._transition(
            "request_supplement",
            CaseStatus.SUPPLEMENT_REQUESTED,
            actor=actor,
            note=p.note or None,
            data={"items": case.pending_items},
            notify_items=case.pending_items,
        )

    async def _receive_supplement(self, p: SupplementInput) -> None:
        case = self._case
        self._timers.supplement_expiry = None
        case.pending_items = []
        data = {"form_changes": sorted(p.form_changes)} if p.form_changes else {}
        if case.supplement_from == CaseStatus.PROCESSING:
            self._attached = (list(p.documents), "supplement")
            await self._start_processing(
                "supplement", "citizen", p.note or None, reason="supplement_restart"
            )
        else:
            deadline = await self._plan(workflow.now(), hours=self._rules.reception_limit_hours)
            self._timers.reception_late = self._case.reception_due_at = deadline.due_at
            await self._transition(
                "supplement",
                CaseStatus.SUBMITTED,
                actor="citizen",
                note=p.note or None,
                documents=p.documents,
                document_kind="supplement",
                data=data,
            )

    async def _apologize(self, p: ApologizeInput, actor: str) -> None:
        case = self._case
        case.apology_used = True
        case.due_at = p.new_due
        case.overdue = False
        case.due_history.append(DueChange(at=workflow.now(), due_at=p.new_due, reason="apology"))
        self._timers.due = p.new_due
        self._timers.warn = None
        await self._transition(
            "apologize",
            case.status,
            actor=actor,
            note=p.reason,
            data={"new_due": p.new_due.isoformat()},
            # The citizen's notice is the apology itself (reason, new date), not a
            # "status changed" one: the status stays.
            notify_kind="apology",
        )

    async def _await_payment(self, action: str, actor: str, note: str | None) -> None:
        rules = self._rules
        if self._plans_at_once():
            reminder, expiry = await asyncio.gather(
                self._plan(workflow.now(), days=rules.payment_reminder_days),
                self._plan(workflow.now(), days=rules.payment_expiry_days),
            )
        else:
            reminder = await self._plan(workflow.now(), days=rules.payment_reminder_days)
            expiry = await self._plan(workflow.now(), days=rules.payment_expiry_days)
        self._timers.payment_reminder = reminder.due_at
        self._timers.payment_expiry = expiry.due_at
        self._timers.payment_check = workflow.now() + self._payment_check_interval()
        await self._transition(
            action,
            CaseStatus.AWAITING_PAYMENT,
            actor=actor,
            note=note,
            data={
                "payment_ref": payment_reference(self._inp.dossier_code),
                "amount": self._inp.fee_amount,
                # What the gateway is told (INIT's expire_at): the case's own moment,
                # planned with the rules and the calendar the case has, not today's.
                "expires_at": (expiry.due_at - GATEWAY_EXPIRY_MARGIN).isoformat(),
            },
        )

    async def _payment_callback(self, p: PaymentConfirmedInput) -> None:
        case, inp = self._case, self._inp
        expected = payment_reference(inp.dossier_code)
        valid = (
            case.status == CaseStatus.AWAITING_PAYMENT
            and case.payment_status != "paid"
            and p.payment_ref == expected
            and p.amount == inp.fee_amount
        )
        if not valid and self._is_double_payment(p) and self._patched(
            patches.DOUBLE_PAYMENT_REFUND
        ):
            await self._refund_double_payment(p)
            return
        if not valid:
            # Recorded for the accountant, then ignored: the case does not move.
            await self._transition(
                "payment_mismatch",
                case.status,
                actor="gateway",
                data={
                    "payment_ref": p.payment_ref,
                    "amount": p.amount,
                    "expected_amount": inp.fee_amount,
                },
                notify=False,
            )
            return
        await self._paid(
            "payment_confirmed", "gateway", "online", f"Giao dịch {p.transaction_id}".strip()
        )

    async def _refund_late_payments(self, payments: list[PaymentConfirmedInput]) -> None:
        """A LateRefundWorkflow (the callback route's, the same id: at most one per
        dossier) for the first payment of this case's fee, outliving this case."""
        case, inp = self._case, self._inp
        expected = payment_reference(inp.dossier_code)
        taken_online = case.payment_status == "paid" and case.payment_method == "online"
        paid = next(
            (p for p in payments if p.payment_ref == expected and p.amount > 0), None
        )
        if paid is None or taken_online:
            return
        # Already started by the route (a retried callback after the close): one refund.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                "LateRefundWorkflow",
                LateRefundInput(
                    dossier_code=inp.dossier_code,
                    payment_ref=paid.payment_ref,
                    amount=paid.amount,
                    transaction_id=paid.transaction_id,
                    sets_payment_status=case.payment_status != "paid",
                ),
                id=late_refund_id(inp.dossier_code),
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                # Never a second run for this dossier, even after the first finished.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=LATE_REFUND_SUMMARY,
            )

    def _is_double_payment(self, p: PaymentConfirmedInput) -> bool:
        """The gateway took the case's fee although the counter already had: the citizen
        paid twice (a gateway page left open while paying at the counter)."""
        case, inp = self._case, self._inp
        return (
            not self._double_refunded
            and case.payment_status == "paid"
            and case.payment_method == "counter"
            and p.payment_ref == payment_reference(inp.dossier_code)
            and p.amount == inp.fee_amount
        )

    async def _refund_double_payment(self, p: PaymentConfirmedInput) -> None:
        """Refunded through the gateway; the case keeps its counter payment and goes on."""
        case, inp = self._case, self._inp
        self._double_refunded = True
        data: dict[str, Any] = {
            "payment_ref": p.payment_ref,
            "amount": p.amount,
            "expected_amount": inp.fee_amount,
            "transaction_id": p.transaction_id,
            "reason": "paid_at_counter",
        }
        try:
            refund = await self._request_refund(
                "double-refund",
                p.payment_ref,
                p.amount,
                texts.NOTES["double_refund_reason"],
                summary="Hoàn tiền nộp trùng",
            )
        except ActivityError as failure:
            data["refund_error"] = reason = _failure_reason(failure)
            note = texts.NOTES["double_refund_failed"].format(amount=p.amount, reason=reason)
        else:
            data["refund_ref"] = refund.refund_ref
            note = texts.NOTES["double_refund_requested"].format(
                amount=p.amount, transaction=p.transaction_id, ref=refund.refund_ref
            )
        await self._transition(
            "payment_mismatch", case.status, actor="gateway", note=note, data=data, notify=False
        )

    async def _request_refund(
        self, key: str, payment_ref: str, amount: int, reason: str, *, summary: str
    ) -> RefundResult:
        """One refund through the gateway, idempotent on ``<code>:<key>``."""
        code = self._inp.dossier_code
        result: RefundResult = await workflow.execute_activity(
            "request_refund",
            RefundRequest(
                dossier_code=code,
                idempotency_key=f"{code}:{key}",
                payment_ref=payment_ref,
                amount=amount,
                reason=reason,
            ),
            result_type=RefundResult,
            start_to_close_timeout=self._outside_timeout(),
            retry_policy=OUTSIDE_RETRY,
            summary=summary,
        )
        return result

    async def _paid(self, action: str, actor: str, method: str, note: str) -> None:
        case = self._case
        case.payment_status, case.payment_method, case.paid_at = "paid", method, workflow.now()
        self._timers.payment_reminder = self._timers.payment_expiry = None
        self._timers.payment_check = None
        if case.finished_at is None:
            await self._start_processing(action, actor, note, reason="received")
        else:
            await self._deliver(action, actor, note)

    async def _issue(self, p: IssueResultInput, actor: str) -> None:
        case, inp = self._case, self._inp
        await self._finish_step("issue_result", actor)
        case.finished_at = workflow.now()
        case.result_documents = list(p.documents)
        case.timeliness = self._final_timeliness()
        self._timers.due = self._timers.warn = None
        case.overdue = False
        self._attached = (list(p.documents), "result")
        if inp.payment_stage == PaymentStage.BEFORE_RESULT and case.payment_status == "pending":
            await self._await_payment("issue_result", actor, p.note or None)
        else:
            await self._deliver("issue_result", actor, p.note or None)

    def _final_timeliness(self) -> str:
        case = self._case
        # Decision 766: late if past the appointment, if ever overdue, or supplemented more than once.
        if case.was_overdue or case.supplement_count > 1:
            return "late"
        return _timeliness(case.finished_at, case.statutory_due_at) or "on_time"

    async def _deliver(self, action: str, actor: str, note: str | None) -> None:
        delivery = self._inp.delivery
        if delivery == "online":
            await self._complete(action, actor, note)
        elif delivery == "postal":
            await self._dispatch(action, actor, note)
        else:
            await self._transition(action, CaseStatus.RESULT_READY, actor=actor, note=note)

    async def _dispatch(self, action: str, actor: str, note: str | None = None) -> None:
        case, inp = self._case, self._inp
        case.dispatch_attempts += 1
        try:
            shipment: Shipment = await workflow.execute_activity(
                "dispatch_result",
                ShipmentRequest(
                    dossier_code=inp.dossier_code,
                    idempotency_key=f"{inp.dossier_code}:ship:{case.dispatch_attempts}",
                    address=case.delivery_address or "",
                    applicant_id=inp.applicant_id,
                    documents=list(case.result_documents),
                ),
                result_type=Shipment,
                start_to_close_timeout=self._outside_timeout(),
                retry_policy=OUTSIDE_RETRY,
                summary="Tạo vận đơn bưu chính",
            )
        except ActivityError as failure:
            # Only a refusal for good gets here (OUTSIDE_RETRY retries the rest): the
            # result waits at the counter, where the issuer can send it again to a
            # corrected address or hand it over. Cases that failed on it before this
            # branch existed replay as they ran.
            if not self._patched(patches.DISPATCH_REJECTED):
                raise
            await self._transition(
                action,
                CaseStatus.RESULT_READY,
                actor=actor,
                note=texts.NOTES["dispatch_rejected"],
                data={"postal": "rejected", "reason": _failure_reason(failure)},
            )
            return
        case.tracking_number = shipment.tracking_number
        case.dispatched_at = shipment.created_at
        limit = timedelta(hours=self._rules.postal_dispatch_limit_hours)
        case.dispatch_late = case.finished_at is not None and (
            shipment.created_at - case.finished_at > limit
        )
        await self._transition(
            action,
            CaseStatus.DISPATCHED,
            actor=actor,
            note=note,
            data={"tracking_number": shipment.tracking_number, "dispatch_late": case.dispatch_late},
        )

    async def _postal_update(self, p: PostalUpdateInput) -> None:
        case = self._case
        if case.status != CaseStatus.DISPATCHED or p.tracking_number != case.tracking_number:
            workflow.logger.warning("postal update for %s ignored", p.tracking_number)
            return
        if p.status == "delivered":
            await self._complete("postal_update", "postal", p.note or "Đã phát thành công")
        elif p.status == "returned":
            await self._transition(
                "postal_update",
                CaseStatus.RESULT_READY,
                actor="postal",
                note=p.note or "Bưu chính chuyển hoàn",
                data={"postal": "returned"},
            )
        else:
            await self._transition(
                "postal_update",
                case.status,
                actor="postal",
                note=p.note or None,
                data={"postal": p.status},
                notify=False,
            )

    async def _complete(self, action: str, actor: str, note: str | None) -> None:
        self._case.closed_at = workflow.now()
        await self._transition(action, CaseStatus.COMPLETED, actor=actor, note=note)

    async def _close(self, status: str, action: str, actor: str, note: str | None) -> None:
        case, inp = self._case, self._inp
        case.closed_at = workflow.now()
        self._timers = _Timers()
        case.overdue = False
        if status == CaseStatus.REJECTED:
            case.finished_at = case.closed_at
            case.timeliness = self._final_timeliness()
        refund: RefundResult | None = None
        data: dict[str, Any] = {}
        if case.payment_status == "paid" and case.payment_method == "online":
            try:
                refund = await self._request_refund(
                    "refund",
                    payment_reference(inp.dossier_code),
                    inp.fee_amount,
                    note or "",
                    summary="Yêu cầu hoàn phí",
                )
            except ActivityError as failure:
                # The gateway refused the refund for good: the case still closes, and
                # the refund is left to the agency's accountant, visibly.
                if not self._patched(patches.REFUND_REJECTED):
                    raise
                case.payment_status = "refund_failed"
                data["refund_error"] = _failure_reason(failure)
        if case.payment_status == "paid":
            case.payment_status = "refund_requested"
        if refund:
            data["refund_ref"] = refund.refund_ref
        await self._transition(action, status, actor=actor, note=note, data=data)

    # ------------------------------------------------------------- timers

    async def _fire_due_timers(self) -> None:
        now, timers, case, inp = workflow.now(), self._timers, self._case, self._inp
        if timers.reception_late and timers.reception_late <= now:
            timers.reception_late = None
            await self._event(
                "reception_late", audience="agency", roles=["reception", "supervisor"]
            )
        if timers.warn and timers.warn <= now:
            timers.warn = None
            case.at_risk = True
            role = self._current_role()
            await self._event("at_risk", audience="agency", roles=[role, "leader"])
        if timers.due and timers.due <= now:
            timers.due = None
            case.overdue = case.was_overdue = True
            await self._event("overdue", audience="agency", roles=["supervisor", "leader"])
        if timers.supplement_expiry and timers.supplement_expiry <= now:
            timers.supplement_expiry = None
            await self._close(
                CaseStatus.WITHDRAWN, "supplement_expired", "system", "Quá thời hạn bổ sung hồ sơ"
            )
        if timers.payment_reminder and timers.payment_reminder <= now:
            timers.payment_reminder = None
            await self._event("payment_reminder", audience="citizen")
        if timers.payment_check and timers.payment_check <= now:
            timers.payment_check = None
            await self._query_payment()
        if timers.payment_expiry and timers.payment_expiry <= now:
            timers.payment_expiry = None
            if inp.payment_stage == PaymentStage.ON_SUBMISSION and self._patched(
                patches.QUERY_BEFORE_EXPIRY
            ):
                # A payment made since the last periodic query (its callback late or
                # lost) must not end in a withdrawn case with the money kept: ask once more.
                await self._query_payment()
                if case.payment_status == "paid":
                    return
            case.payment_status = "expired"
            if inp.payment_stage == PaymentStage.ON_SUBMISSION:
                await self._close(
                    CaseStatus.WITHDRAWN, "payment_expired", "system", "Quá hạn nộp phí, lệ phí"
                )
            else:
                await self._event("payment_expired", audience="citizen")
                case.payment_status = "pending"  # the counter (or a new online payment) still works

    def _outside_timeout(self) -> timedelta:
        return timedelta(seconds=self._rules.outside_call_seconds)

    def _payment_check_interval(self) -> timedelta:
        return timedelta(minutes=self._rules.payment_query_minutes)

    async def _query_payment(self) -> None:
        """No callback yet: ask the gateway, and act on its answer as on a callback."""
        case, inp = self._case, self._inp
        if case.status != CaseStatus.AWAITING_PAYMENT or case.payment_status == "paid":
            return
        ref = payment_reference(inp.dossier_code)
        try:
            answer: PaymentStatus = await workflow.execute_activity(
                "query_payment",
                PaymentQuery(dossier_code=inp.dossier_code, payment_ref=ref),
                result_type=PaymentStatus,
                start_to_close_timeout=self._outside_timeout(),
                retry_policy=RetryPolicy(maximum_attempts=3),
                summary="Tra cứu trạng thái thanh toán",
            )
        except ActivityError:
            # The gateway is unreachable: the callback may still come; ask again later.
            answer = PaymentStatus(status="unknown")
        if answer.status == "paid":
            await self._payment_callback(
                PaymentConfirmedInput(
                    payment_ref=ref, amount=answer.amount, transaction_id=answer.transaction_id
                )
            )
        elif case.status == CaseStatus.AWAITING_PAYMENT:
            self._timers.payment_check = workflow.now() + self._payment_check_interval()

    def _current_role(self) -> str:
        case, steps = self._case, self._inp.steps
        if 0 <= case.step_index < len(steps):
            return steps[case.step_index].role
        return "issuer"

    def _timer_summary(self) -> str:
        earliest = self._timers.earliest()
        names = [k for k, v in vars(self._timers).items() if v == earliest]
        return f"{', '.join(names)} @ {texts.fmt_moment(earliest)}"

    # -------------------------------------------------- recording + activities

    async def _plan(
        self,
        start: datetime,
        *,
        days: float | None = None,
        hours: float | None = None,
        same_day: bool = False,
        warn_days: int = 0,
        cutoff: str | None = None,
        also_days: int = 0,
    ) -> Deadline:
        return await workflow.execute_local_activity(
            "plan_deadline",
            DeadlineRequest(
                start=start,
                working_days=days,
                working_hours=hours,
                same_day=same_day,
                warn_days=warn_days,
                cutoff=cutoff,
                also_days=also_days,
            ),
            result_type=Deadline,
            start_to_close_timeout=timedelta(seconds=10),
            summary="Tính hạn theo ngày làm việc",
        )

    async def _event(self, kind: str, *, audience: str, roles: list[str] | None = None) -> None:
        """A timer-driven notice: recorded as an event without changing the status."""
        await self._transition(
            kind,
            self._case.status,
            actor="system",
            audience=audience,
            roles=roles or [],
            notify_kind=kind,
        )

    async def _transition(
        self,
        action: str,
        to_status: str,
        *,
        actor: str,
        note: str | None = None,
        data: dict[str, Any] | None = None,
        documents: list[DocumentRef] | None = None,
        document_kind: str = "submitted",
        from_status: str | None = None,
        notify: bool = True,
        audience: str = "citizen",
        roles: list[str] | None = None,
        notify_kind: str | None = None,
        notify_items: list[str] | None = None,
    ) -> None:
        case, inp = self._case, self._inp
        from_status = from_status or case.status
        now = workflow.now()
        if case.status_since is None and self._patched(patches.QUIET_UPSERTS):
            case.status_since = inp.submitted_at  # as the case was started with
        elif from_status != to_status or case.status_since is None:
            case.status_since = now
        case.status = to_status
        case.seq += 1
        if documents is None and self._attached is not None:
            documents, document_kind = self._attached
            self._attached = None
        step_key, _ = self._step_key_name()
        record = TransitionRecord(
            dossier_code=inp.dossier_code,
            seq=case.seq,
            at=now,
            actor=actor,
            action=action,
            from_status=from_status if case.seq > 0 else None,
            to_status=to_status,
            step=step_key,
            note=note,
            data=data or {},
            snapshot=self._snapshot(),
            documents=list(documents or []),
            document_kind=document_kind,
        )
        local = self._patched(patches.LOCAL_RECORD)
        tasks = [
            self._db_activity(
                local,
                "record_transition",
                record,
                summary=f"Ghi nhận: {texts.action_label(action)}",
            )
        ]
        changed = case.seq == 0 or from_status != to_status
        if notify and (changed or notify_kind or action == "apologize"):
            tasks.append(
                self._db_activity(
                    local,
                    "notify",
                    NotifyRequest(
                        dossier_code=inp.dossier_code,
                        seq=case.seq,
                        kind=notify_kind or "status_changed",
                        audience=audience,
                        procedure_name=inp.procedure_name,
                        agency_code=inp.agency_code,
                        status=to_status,
                        citizen_id=inp.applicant_id,
                        roles=roles or [],
                        due_at=case.due_at,
                        items=notify_items or [],
                        note=note,
                    ),
                    summary=f"Thông báo: {texts.action_label(notify_kind or action)}",
                )
            )
        if (
            case.received_at is not None
            and self._rules.national_sync
            and self._patched(patches.NATIONAL_SYNC)
        ):
            self._queue_national_sync(record)
        if local and self._patched(patches.SERIAL_LOCALS):
            for task in tasks:
                await task
        else:
            await asyncio.gather(*tasks)
        self._publish()

    @staticmethod
    def _db_activity(local: bool, name: str, arg: Any, *, summary: str) -> Awaitable[Any]:
        """An idempotent write to our own database: retried until the database is back."""
        if local:
            return workflow.execute_local_activity(
                name, arg, start_to_close_timeout=DB_ATTEMPT, retry_policy=DB_RETRY,
                summary=summary,
            )  # fmt: skip
        return workflow.execute_activity(
            name, arg, start_to_close_timeout=DB_ATTEMPT, retry_policy=DB_RETRY, summary=summary
        )

    def _queue_national_sync(self, record: TransitionRecord) -> None:
        """Queue the report for the national portal. A pump sends the queue in order in
        the background: an official's decision never waits on the national portal."""
        case, inp = self._case, self._inp
        first = not self._national_synced
        self._national_synced = True
        self._sync_queue.append(
            NationalSyncRequest(
                dossier_code=inp.dossier_code,
                seq=record.seq,
                kind="dossier" if first else "status",
                procedure_code=inp.procedure_code,
                agency_code=inp.agency_code,
                channel=inp.channel,
                status=record.to_status,
                step=record.step,
                at=record.at,
                received_at=case.received_at,
                due_at=case.due_at,
                finished_at=case.finished_at,
                actor_unit=inp.agency_code,
                result=case.timeliness,
            )
        )
        if not self._sync_pumping:
            self._sync_pumping = True
            asyncio.create_task(self._pump_national_sync())

    async def _pump_national_sync(self) -> None:
        while self._sync_queue:
            await self._sync_national(self._sync_queue.pop(0))
        self._sync_pumping = False

    async def _sync_national(self, request: NationalSyncRequest) -> None:
        """A failure never stops the case (the nightly re-sync retries what is left)."""
        try:
            await workflow.execute_activity(
                "sync_national",
                request,
                result_type=NationalSyncResult,
                start_to_close_timeout=self._outside_timeout(),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=5),
                    maximum_interval=timedelta(minutes=10),
                    maximum_attempts=8,
                ),
                summary="Đồng bộ Cổng DVC quốc gia",
            )
        except ActivityError:
            workflow.logger.warning(
                "national sync of %s#%s left for the nightly re-sync",
                request.dossier_code,
                request.seq,
            )

    def _snapshot(self) -> DossierSnapshot:
        case, inp = self._case, self._inp
        step_key, _ = self._step_key_name()
        return DossierSnapshot(
            procedure_code=inp.procedure_code,
            agency_code=inp.agency_code,
            status=case.status,
            current_step=step_key,
            submitted_at=inp.submitted_at,
            received_at=case.received_at,
            due_at=case.due_at,
            statutory_due_at=case.statutory_due_at,
            finished_at=case.finished_at,
            closed_at=case.closed_at,
            overdue=case.overdue,
            was_overdue=case.was_overdue,
            timeliness=case.timeliness,
            supplement_count=case.supplement_count,
            apology_used=case.apology_used,
            fee_amount=inp.fee_amount,
            payment_stage=inp.payment_stage,
            payment_status=case.payment_status,
            payment_method=case.payment_method,
            paid_at=case.paid_at,
            tracking_number=case.tracking_number,
            delivery=inp.delivery,
            reception_due_at=case.reception_due_at
            if case.status == CaseStatus.SUBMITTED
            else None,
            state={
                "hand_overs": [_jsonable(vars(h)) for h in case.hand_overs],
                "due_history": [_jsonable(vars(d)) for d in case.due_history],
                "pending_items": list(case.pending_items),
                "allowed_actions": self._allowed(offered=True),
                # The pages stop offering a supplement request once it passes (the
                # published actions change only at the next transition).
                "supplement_request_until": case.supplement_request_until.isoformat()
                if case.supplement_request_until
                else None,
                "dispatch_late": case.dispatch_late,
                "delivery_address": case.delivery_address,
            },
        )

    def _publish(self) -> None:
        """Search attributes and current details: what a supervisor sees in the Temporal UI."""
        case, inp = self._case, self._inp
        step_key, step_name = self._step_key_name()
        wanted: list[tuple[Any, Any]] = [
            (sa.CASE_STATUS, str(case.status)),
            (sa.DUE_AT, case.due_at),
            (sa.OVERDUE, case.overdue),
            (sa.AGENCY_CODE, inp.agency_code),
            (sa.PROCEDURE_CODE, inp.procedure_code),
            (sa.CURRENT_STEP, step_key),
            (sa.STATUS_SINCE, case.status_since or workflow.now()),
        ]
        if self._patched(patches.QUIET_UPSERTS):
            # Each upsert is a visibility write: none when nothing a supervisor filters
            # on changed (the first transition finds what the start already set).
            current = workflow.info().typed_search_attributes
            wanted = [(key, value) for key, value in wanted if current.get(key) != value]
        if wanted:
            workflow.upsert_search_attributes(
                [key.value_set(value) if value is not None else key.value_unset()
                 for key, value in wanted]  # fmt: skip
            )
        workflow.set_current_details(self._details(step_name))

    def _details(self, step_name: str | None) -> str:
        case, inp = self._case, self._inp
        status = case.status
        if status in FINAL_STATUSES:
            return texts.DETAILS["FINAL"].format(status=texts.status_label(status))
        if status == CaseStatus.SUBMITTED:
            return texts.DETAILS["SUBMITTED"].format(
                deadline=texts.fmt_moment(self._timers.reception_late)
            )
        if status == CaseStatus.SUPPLEMENT_REQUESTED:
            return texts.DETAILS["SUPPLEMENT_REQUESTED"].format(
                items="; ".join(case.pending_items),
                deadline=texts.fmt_moment(self._timers.supplement_expiry),
            )
        if status == CaseStatus.PROCESSING:
            if self._step_key_name()[0] == STEP_ISSUE:
                return texts.DETAILS["ISSUE"].format(due=texts.fmt_moment(case.due_at))
            role = texts.ROLE_LABELS.get(self._current_role(), self._current_role())
            late = " — QUÁ HẠN" if case.overdue else ""
            return (
                texts.DETAILS["PROCESSING"].format(
                    step=step_name, role=role, due=texts.fmt_moment(case.due_at)
                )
                + late
            )
        if status == CaseStatus.AWAITING_PAYMENT:
            return texts.DETAILS["AWAITING_PAYMENT"].format(
                fee=inp.fee_amount, deadline=texts.fmt_moment(self._timers.payment_expiry)
            )
        if status == CaseStatus.RESULT_READY:
            return texts.DETAILS["RESULT_READY"].format(delivery=inp.delivery)
        return texts.DETAILS["DISPATCHED"].format(tracking=case.tracking_number)


def _failure_reason(failure: ActivityError) -> str:
    """What the outside party said, for the officials (the cause is the activity's own error)."""
    cause = failure.cause
    return str(cause.message if isinstance(cause, ApplicationError) else cause or failure)[:500]


def _timeliness(finished: datetime | None, due: datetime | None) -> str | None:
    """early: finished on an earlier day than the appointment; late: after it."""
    if finished is None or due is None:
        return None
    if finished > due:
        return "late"
    if finished.astimezone(texts.VN_OFFSET).date() < due.astimezone(texts.VN_OFFSET).date():
        return "early"
    return "on_time"


def _has_naive_moment(payload: Any) -> bool:
    """A decision's moment without an offset (sent by hand, e.g. from the Temporal UI)."""
    moments = (getattr(payload, name, None) for name in ("received_at", "new_due"))
    return any(isinstance(m, datetime) and m.utcoffset() is None for m in moments)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}
