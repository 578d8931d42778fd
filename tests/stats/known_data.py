"""A small generated read model whose indicators were counted by hand.

Period: Q2 2027 (1 April – 30 June, Vietnam time); ``NOW`` is after it.
Holidays on the way: Fri 30/4, Mon 3/5 (1/5 fell on a Saturday: day off in lieu).
Elapsed working days were worked out by hand (office hours 07:00–11:30, 13:30–17:00,
8 hours a day) and are written next to each dossier.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from dichvucong.calendar.work_calendar import VN_TZ
from dichvucong.db.engine import Database
from dichvucong.db.migrate import upgrade
from dichvucong.db.models import Dossier, DossierDocument, NationalSync
from dichvucong.feedback.models import Feedback

A = "000.00.12.H19"  # Sở Tư pháp (province level)
B = "000.00.21.H19"  # UBND TP Biên Hòa
NOW = datetime(2027, 7, 15, 9, 0, tzinfo=VN_TZ)


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def _dossier(code: str, agency: str, **values: Any) -> Dossier:
    values.setdefault("submitted_at", values.get("received_at") or vn(2027, 4, 1, 8, 0))
    values.setdefault("procedure_code", "ly-lich-tu-phap")
    return Dossier(code=code, agency_code=agency, **values)


def dossiers() -> list[Dossier]:
    return [
        # Mon 09:00 -> Wed 10:00: 2 whole days + 3h/8 - 2h/8 = 2.125
        _dossier(
            "A-1",
            A,
            channel="online",
            status="COMPLETED",
            timeliness="early",
            received_at=vn(2027, 4, 5, 9, 0),
            finished_at=vn(2027, 4, 7, 10, 0),
            closed_at=vn(2027, 4, 7, 10, 0),
            rating="very_satisfied",
            payment_status="paid",
            payment_method="online",
            paid_at=vn(2027, 4, 5, 9, 30),
            fee_amount=200_000,
        ),
        # Wed 28/4 16:00 -> Wed 5/5 08:00 across 30/4, 1/5 (Sat), 3/5 (in lieu):
        # whole days 28/4, 29/4, 4/5 = 3; + 1h/8 - 7h/8 = 2.25
        _dossier(
            "A-2",
            A,
            channel="counter",
            status="COMPLETED",
            timeliness="on_time",
            received_at=vn(2027, 4, 28, 16, 0),
            finished_at=vn(2027, 5, 5, 8, 0),
            closed_at=vn(2027, 5, 5, 9, 0),
            rating="satisfied",
            payment_status="paid",
            payment_method="counter",
            paid_at=vn(2027, 5, 5, 8, 30),
            fee_amount=200_000,
        ),
        # Mon 10/5 10:00 -> Mon 24/5 15:00: 10 + 6h/8 - 3h/8 = 10.375; overdue once -> late
        _dossier(
            "A-3",
            A,
            channel="online",
            status="COMPLETED",
            timeliness="late",
            was_overdue=True,
            received_at=vn(2027, 5, 10, 10, 0),
            finished_at=vn(2027, 5, 24, 15, 0),
            closed_at=vn(2027, 5, 24, 15, 0),
            rating="unsatisfied",
        ),
        # Tue 1/6 07:00 -> Thu 3/6 17:00: 2 + 8h/8 - 0 = 3.0; two supplements -> late
        _dossier(
            "A-4",
            A,
            channel="postal",
            status="COMPLETED",
            timeliness="late",
            supplement_count=2,
            received_at=vn(2027, 6, 1, 7, 0),
            finished_at=vn(2027, 6, 3, 17, 0),
            closed_at=vn(2027, 6, 5, 9, 0),
        ),
        # rejected with reasons: Thu 10/6 08:00 -> Fri 11/6 08:00 = 1.0
        _dossier(
            "A-5",
            A,
            channel="online",
            status="REJECTED",
            timeliness="on_time",
            received_at=vn(2027, 6, 10, 8, 0),
            finished_at=vn(2027, 6, 11, 8, 0),
            closed_at=vn(2027, 6, 11, 8, 0),
        ),
        _dossier(
            "A-6",
            A,
            channel="online",
            status="REFUSED",
            submitted_at=vn(2027, 4, 2, 8, 0),
            closed_at=vn(2027, 4, 2, 10, 0),
        ),
        _dossier(
            "A-7",
            A,
            channel="online",
            status="WITHDRAWN",
            received_at=vn(2027, 4, 12, 8, 0),
            closed_at=vn(2027, 4, 15, 9, 0),
        ),
        # pending at the end of June; due 25/6 -> overdue
        _dossier(
            "A-8",
            A,
            channel="counter",
            status="PROCESSING",
            overdue=True,
            was_overdue=True,
            received_at=vn(2027, 6, 21, 8, 0),
            due_at=vn(2027, 6, 25, 8, 0),
        ),
        # pending, due in July
        _dossier(
            "A-9",
            A,
            channel="online",
            status="PROCESSING",
            received_at=vn(2027, 6, 29, 8, 0),
            due_at=vn(2027, 7, 13, 8, 0),
        ),
        # pending, waiting for the citizen: its old due moment does not make it overdue
        _dossier(
            "A-10",
            A,
            channel="online",
            status="SUPPLEMENT_REQUESTED",
            supplement_count=1,
            received_at=vn(2027, 6, 14, 8, 0),
            due_at=vn(2027, 6, 16, 8, 0),
        ),
        # received in Q1, resolved in Q2: Thu 25/3 08:00 -> Fri 2/4 08:00 = 6.0
        _dossier(
            "A-11",
            A,
            channel="online",
            status="COMPLETED",
            timeliness="on_time",
            received_at=vn(2027, 3, 25, 8, 0),
            finished_at=vn(2027, 4, 2, 8, 0),
            closed_at=vn(2027, 4, 2, 8, 0),
        ),
        # received on the last day, finished in July: pending at the end of June
        _dossier(
            "A-12",
            A,
            channel="online",
            status="COMPLETED",
            timeliness="early",
            received_at=vn(2027, 6, 30, 8, 0),
            due_at=vn(2027, 7, 5, 8, 0),
            finished_at=vn(2027, 7, 2, 8, 0),
            closed_at=vn(2027, 7, 2, 8, 0),
        ),
        # same day Tue 6/4 09:00 -> 16:00: 0 + 7h/8 - 2h/8 = 0.625
        _dossier(
            "B-1",
            B,
            channel="online",
            status="COMPLETED",
            timeliness="early",
            received_at=vn(2027, 4, 6, 9, 0),
            finished_at=vn(2027, 4, 6, 16, 0),
            closed_at=vn(2027, 4, 6, 16, 0),
            payment_status="paid",
            payment_method="online",
            paid_at=vn(2027, 4, 6, 9, 5),
            fee_amount=50_000,
        ),
        # submitted, never received: counts nowhere
        _dossier("B-2", B, channel="online", status="SUBMITTED", submitted_at=vn(2027, 4, 7, 9, 0)),
    ]


def documents() -> list[DossierDocument]:
    def result(code: str) -> DossierDocument:
        return DossierDocument(
            dossier_code=code,
            kind="result",
            slot="ket_qua",
            name="kq.pdf",
            media_type="application/pdf",
            size=10,
            sha256=code.ljust(64, "0"),
        )

    submitted = DossierDocument(
        dossier_code="A-3",
        kind="submitted",
        slot="to_khai",
        name="tk.pdf",
        media_type="application/pdf",
        size=10,
        sha256="f" * 64,
    )
    return [result("A-1"), result("A-2"), result("A-4"), result("B-1"), submitted]


def feedback() -> list[Feedback]:
    def fb(code: str, agency: str, **values: Any) -> Feedback:
        return Feedback(
            code=code, agency_code=agency, subject="Phản ánh", body="Nội dung", **values
        )

    return [
        fb(
            "F1",
            A,
            kind="complaint",
            dossier_code="A-3",
            received_at=vn(2027, 5, 25, 9, 0),
            due_at=vn(2027, 5, 28, 9, 0),
            answered_at=vn(2027, 5, 27, 10, 0),
            status="ANSWERED",
            answer="Đã xử lý",
        ),
        fb(
            "F2", A, kind="question", received_at=vn(2027, 6, 28, 9, 0), due_at=vn(2027, 7, 1, 9, 0)
        ),
        fb(
            "F3",
            B,
            kind="report",
            received_at=vn(2027, 4, 9, 9, 0),
            due_at=vn(2027, 4, 14, 9, 0),
            answered_at=vn(2027, 4, 15, 10, 0),
            status="ANSWERED",
            answer="Trả lời muộn",
        ),
        fb("F4", B, kind="question", received_at=vn(2027, 6, 1, 9, 0), due_at=vn(2027, 6, 4, 9, 0)),
    ]


def national_sync() -> list[NationalSync]:
    """Reports to the national portal. Only a "dossier" row (the first report)
    with status "synced" makes a dossier count as synced."""

    def ns(
        code: str, agency: str, status: str, seq: int = 1, kind: str = "dossier"
    ) -> NationalSync:
        at = vn(2027, 7, 1, 8, 0)
        return NationalSync(
            dossier_code=code,
            seq=seq,
            kind=kind,
            agency_code=agency,
            procedure_code="ly-lich-tu-phap",
            status=status,
            reason=None if status == "synced" else "MA_TTHC_KHONG_TON_TAI: không có",
            attempts=1,
            first_attempt_at=at,
            synced_at=at if status == "synced" else None,
            updated_at=at,
        )

    return [
        ns("A-1", A, "synced"),
        ns("A-1", A, "synced", seq=2, kind="status"),  # a later transition: still one dossier
        ns("A-2", A, "synced"),
        ns("A-3", A, "synced"),
        ns("A-4", A, "rejected"),  # the portal refused it: not synced
        ns("A-5", A, "failed"),  # transport error, the nightly re-sync will retry: not yet
        # never reported (missing): not synced
        ns("A-8", A, "synced"),
        ns("A-9", A, "synced"),
        ns("A-10", A, "synced"),
        ns("A-10", A, "failed", seq=2, kind="status"),  # a later transition failing: still synced
        ns("A-11", A, "synced"),  # received in Q1: not in Q2's numbers
        ns("A-12", A, "failed"),
        ns("B-1", B, "synced"),
    ]


def make_db(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'stats.db'}"
    upgrade(url)
    db = Database(url)
    with db.session() as session:
        session.add_all(dossiers())
        session.flush()
        session.add_all(documents())
        session.add_all(feedback())
        session.add_all(national_sync())
        session.commit()
    return db


# Counted by hand from the rows above (Q2 2027).
EXPECTED_A = dict(
    received=10,
    received_online=7,
    received_counter=2,
    received_postal=1,
    national_synced=6,  # A-10 (A-4 rejected, A-5/A-12 failed, A-7 missing)
    resolved=6,
    early=1,
    on_time=3,
    late=2,
    rejected=1,
    pending=4,
    pending_overdue=1,
    refused=1,
    withdrawn=1,
    paid=2,
    paid_online=1,
    digitised=3,
    very_satisfied=1,
    satisfied=1,
    unsatisfied=1,
    with_complaints=1,
    processing_count=6,
    feedback_received=2,
    feedback_answered=1,
    feedback_answered_on_time=1,
    feedback_overdue=0,
    feedback_not_yet_due=1,  # F2: due 1/7 09:00, after the end of Q2
)
PROCESSING_DAYS_A = 2.125 + 2.25 + 10.375 + 3.0 + 1.0 + 6.0  # 24.75
EXPECTED_B = dict(
    received=1,
    received_online=1,
    received_counter=0,
    received_postal=0,
    national_synced=1,
    resolved=1,
    early=1,
    on_time=0,
    late=0,
    rejected=0,
    pending=0,
    pending_overdue=0,
    refused=0,
    withdrawn=0,
    paid=1,
    paid_online=1,
    digitised=1,
    very_satisfied=0,
    satisfied=0,
    unsatisfied=0,
    with_complaints=0,
    processing_count=1,
    feedback_received=2,
    feedback_answered=1,
    feedback_answered_on_time=0,
    feedback_overdue=1,
    feedback_not_yet_due=0,
)
PROCESSING_DAYS_B = 0.625
