"""A slow SMTP server must not lose the citizen's email, nor get it twice.

smtplib's timeout bounds each socket operation, so a server answering every
command a few seconds late made one send outlast the notify attempt (15 s): the
retry found the email claimed and sent nothing. These tests run a real aiosmtpd
server whose first sessions answer late.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select
from temporalio.exceptions import CancelledError
from temporalio.testing import ActivityEnvironment

from dichvucong.activities.contracts import NotifyRequest
from dichvucong.activities.deadlines import DeadlineActivities
from dichvucong.activities.notify import (
    MAX_SEND_ATTEMPTS,
    ClaimHeld,
    NotifyActivities,
)
from dichvucong.activities.records import RecordActivities
from dichvucong.db.engine import Database
from dichvucong.db.models import Notification, utcnow
from dichvucong.integrations.email import EmailChannel
from dichvucong.simulators.mail import MailStore
from dichvucong.workflows.dossier import DB_ATTEMPT
from tests.integrations.portal import add_citizen
from tests.workflows.harness import dossier_input, harness, vn

CODE = "000.00.12.H19-261204-0001"


class SlowHandler:
    """aiosmtpd handler: the first ``slow_sessions`` sessions answer MAIL, RCPT and
    DATA after ``delay`` seconds each (every wait under smtplib's own timeout)."""

    def __init__(self, store: MailStore, delay: float, slow_sessions: int) -> None:
        self.store, self.delay = store, delay
        self._slow_left = slow_sessions
        self._slow: dict[int, bool] = {}

    async def _answer_late(self, session: Any) -> None:
        if id(session) not in self._slow:
            self._slow[id(session)] = self._slow_left > 0
            self._slow_left -= 1
        if self._slow[id(session)]:
            await asyncio.sleep(self.delay)

    async def handle_MAIL(  # noqa: N802
        self,
        server: Any,
        session: Any,
        envelope: Any,
        address: str,
        options: list[str],
    ) -> str:
        await self._answer_late(session)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self,
        server: Any,
        session: Any,
        envelope: Any,
        address: str,
        options: list[str],
    ) -> str:
        await self._answer_late(session)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await self._answer_late(session)
        raw = envelope.original_content or envelope.content
        self.store.add(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture
def slow_smtp(free_port: Callable[..., int]) -> Iterator[Callable[[float, int], Any]]:
    from aiosmtpd.controller import Controller

    started: list[Any] = []

    def start(delay: float, slow_sessions: int) -> Any:
        handler = SlowHandler(MailStore(), delay, slow_sessions)
        controller = Controller(
            handler, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=True, ready_timeout=10
        )
        controller.start()
        started.append(controller)
        return controller

    yield start
    for controller in started:
        controller.stop()


def _email(db: Database, controller: Any) -> EmailChannel:
    return EmailChannel(db, host=controller.hostname, port=controller.port)


def _rows(db: Database, recipient: str) -> list[str]:
    """Each row's channel, "~" after it while an attempt holds its claim (in flight)."""
    with db.session() as session:
        found = session.exec(
            select(Notification.channel, Notification.in_flight).where(
                Notification.recipient == recipient
            )
        ).all()
    return sorted(channel + ("~" if in_flight else "") for channel, in_flight in found)


def _request(citizen: int) -> NotifyRequest:
    return NotifyRequest(
        dossier_code=CODE,
        seq=3,
        kind="status_changed",
        audience="citizen",
        procedure_name="Cấp Phiếu lý lịch tư pháp",
        agency_code="000.00.12.H19",
        status="PROCESSING",
        citizen_id=citizen,
    )


def _attempt(number: int) -> ActivityEnvironment:
    """An activity context as the dossier workflow's notify attempt sees it."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number, start_to_close_timeout=DB_ATTEMPT)
    return env


async def test_slow_smtp_in_the_dossier_workflow_still_mails_once(tmp_path, slow_smtp) -> None:  # type: ignore[no-untyped-def]
    """The audit's case, through the real workflow: the first session answers each
    command 6 s late (18 s in all, past the 15 s attempt). The attempt gives up within
    its time, gives its claim back, and the retry mails the citizen once."""
    smtp = slow_smtp(6.0, 1)
    async with harness(tmp_path) as h:
        citizen = add_citizen(h.db)
        activities = [DeadlineActivities(h.calendar).plan_deadline,
                      RecordActivities(h.db).record_transition,
                      NotifyActivities(h.db, channels=[_email(h.db, smtp)]).notify,
                      *h.world.activities()]  # fmt: skip
        async with h.worker(activities):
            start = vn(2027, 1, 11, 9, 0)
            await h.travel_to(start)
            await h.start(dossier_input(h.new_code(), start, applicant_id=citizen))
            deadline = time.monotonic() + 40
            while "email" not in _rows(h.db, f"citizen:{citizen}"):
                assert time.monotonic() < deadline, "the citizen's email was never sent"
                await asyncio.sleep(0.2)
        await asyncio.sleep(1)  # nothing more arrives from the first, abandoned session
        assert len(smtp.handler.store.messages()) == 1
        assert _rows(h.db, f"citizen:{citizen}") == ["email", "inapp"]


def test_a_send_ends_by_its_deadline(db: Database, slow_smtp) -> None:  # type: ignore[no-untyped-def]
    smtp = slow_smtp(1.0, 1)
    citizen = add_citizen(db)
    notify = NotifyActivities(db, channels=[_email(db, smtp)])
    env = _attempt(1)
    env.info = dataclasses.replace(env.info, start_to_close_timeout=timedelta(seconds=2))
    began = time.monotonic()
    with pytest.raises(OSError):  # MAIL and RCPT take 2 s: past 2/3 of the 2 s attempt
        env.run(notify.notify, _request(citizen))
    assert time.monotonic() - began < 1.9
    assert _rows(db, f"citizen:{citizen}") == ["inapp"]  # the claim is given back
    env.info = dataclasses.replace(env.info, attempt=2)
    assert env.run(notify.notify, _request(citizen)) == 1  # the retry mails it
    assert len(smtp.handler.store.messages()) == 1


def _claim_left_behind(db: Database, citizen: int, age: timedelta) -> None:
    """The row an attempt that died mid-send leaves: claimed, never marked sent."""
    with db.session() as session:
        session.add(
            Notification(
                dossier_code=CODE,
                seq=3,
                channel="email",
                in_flight=True,
                recipient=f"citizen:{citizen}",
                kind="status_changed",
                subject="s",
                body="b",
                created_at=utcnow() - age,
            )
        )
        session.commit()


def test_a_claim_its_dead_attempt_left_counts_as_sent(  # type: ignore[no-untyped-def]
    db: Database, slow_smtp, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker killed between the send and its mark leaves a claim: the message may
    have gone out, and the portal never mails twice (the worker-kill drill)."""
    smtp = slow_smtp(0.0, 0)
    citizen = add_citizen(db)
    _claim_left_behind(db, citizen, DB_ATTEMPT + timedelta(seconds=1))
    notify = NotifyActivities(db, channels=[_email(db, smtp)])
    with caplog.at_level(logging.WARNING, logger="dichvucong.notify"):
        assert _attempt(2).run(notify.notify, _request(citizen)) == 1  # the in-app row only
    assert smtp.handler.store.messages() == []
    assert "notice_maybe_sent" in caplog.text
    assert _rows(db, f"citizen:{citizen}") == ["email~", "inapp"]


def test_a_claim_still_in_time_is_not_sent_twice(db: Database, slow_smtp) -> None:  # type: ignore[no-untyped-def]
    """Another attempt may still be sending: this one sends nothing and fails, so the
    activity looks again later, whatever its attempt number."""
    smtp = slow_smtp(0.0, 0)
    citizen = add_citizen(db)
    _claim_left_behind(db, citizen, timedelta(seconds=5))
    notify = NotifyActivities(db, channels=[_email(db, smtp)])
    with pytest.raises(ClaimHeld):
        _attempt(5).run(notify.notify, _request(citizen))
    assert smtp.handler.store.messages() == []
    assert _rows(db, f"citizen:{citizen}") == ["email~", "inapp"]


def test_a_cancelled_last_attempt_is_not_given_up(  # type: ignore[no-untyped-def]
    db: Database, slow_smtp, caplog: pytest.LogCaptureFixture
) -> None:
    """Temporal cancelling an attempt (its timeout, the workflow task lost) says nothing
    about the mail server: the claim is given back and the notice stays to be sent,
    even at the last counted attempt."""
    smtp = slow_smtp(1.0, 1)
    citizen = add_citizen(db)
    notify = NotifyActivities(db, channels=[_email(db, smtp)])
    env = _attempt(MAX_SEND_ATTEMPTS)
    outcome: list[BaseException | int] = []

    def run() -> None:
        try:
            outcome.append(env.run(notify.notify, _request(citizen)))
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.5)  # in the SMTP exchange
    env.cancel()
    worker.join(10)
    [ended] = outcome
    assert isinstance(ended, CancelledError)
    assert "notice_undelivered" not in caplog.text
    assert _rows(db, f"citizen:{citizen}") == ["inapp"]
    assert _attempt(MAX_SEND_ATTEMPTS + 1).run(notify.notify, _request(citizen)) == 1
    assert len(smtp.handler.store.messages()) == 1
