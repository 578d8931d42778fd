"""The morning digest lists only cases at risk: those being processed, not yet
overdue (as the dashboard's "due soon" counts them). A case waiting for the citizen
or with its result issued keeps its old DueAt, but nobody can be late on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier, Notification
from dichvucong.scheduling.activities import ScheduleActivities
from dichvucong.scheduling.contracts import DigestInput
from dichvucong.settings import Settings

STP = "000.00.12.H19"
DUE = datetime(2026, 12, 9, 3, 0, tzinfo=UTC)  # 10:00 Wednesday, Vietnam time
NOT_AT_RISK = ["SUPPLEMENT_REQUESTED", "RESULT_READY", "DISPATCHED", "AWAITING_PAYMENT"]


def _dossier(db: Database, code: str, status: str, *, overdue: bool = False) -> None:
    with db.session() as session:
        session.add(Dossier(code=code, procedure_code="ly-lich-tu-phap", agency_code=STP,
                            status=status, due_at=DUE, overdue=overdue,
                            submitted_at=DUE - timedelta(days=5),
                            received_at=DUE - timedelta(days=5)))  # fmt: skip
        session.commit()


def test_digest_lists_only_cases_being_processed(db: Database, tmp_path: Path) -> None:
    _dossier(db, "D-PROCESSING", "PROCESSING")
    _dossier(db, "D-OVERDUE", "PROCESSING", overdue=True)
    for status in NOT_AT_RISK:
        _dossier(db, f"D-{status}", status)
    settings = Settings(var_dir=tmp_path, database_url=db.url, environment="test")

    result = ScheduleActivities(settings, db).send_at_risk_digest(DigestInput(day="2026-12-08"))

    assert result.agencies == {STP: 1}
    with db.session() as session:
        notice = session.exec(select(Notification)).first()
    assert notice is not None
    assert notice.subject.startswith("1 hồ sơ sắp đến hạn trả kết quả")
    assert "D-PROCESSING" in notice.body
    assert all(f"D-{status}" not in notice.body for status in [*NOT_AT_RISK, "OVERDUE"])
