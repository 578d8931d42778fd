"""The officials' work list (``dossiers.inbox.open_work``): which dossiers wait for which
roles of which agency, in what order, with the API's filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier
from dichvucong.dossiers.inbox import open_work
from dichvucong.dossiers.views import WorkItem

AGENCY = "000.00.12.H19"
OTHER = "000.00.13.H19"
T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def _dossier(code: str, status: str, allowed: dict[str, list[str]], *, agency: str = AGENCY,
             due_in_h: float | None = None, overdue: bool = False,
             procedure: str = "ly-lich-tu-phap") -> Dossier:  # fmt: skip
    return Dossier(
        code=code,
        procedure_code=procedure,
        agency_code=agency,
        applicant_name=f"Người nộp {code}",
        status=status,
        current_step="tham_dinh" if status == "PROCESSING" else None,
        submitted_at=T0,
        due_at=None if due_in_h is None else T0 + timedelta(hours=due_in_h),
        overdue=overdue,
        state={"allowed_actions": allowed, "form": {"ho_ten": "không đọc"}},
    )


def check_open_work(db: Database) -> None:
    with db.session() as session:
        session.add_all([
            _dossier("late", "PROCESSING", {"specialist": ["approve"]}, due_in_h=-2, overdue=True),
            _dossier("new", "SUBMITTED", {"reception": ["accept", "refuse"]}, due_in_h=40),
            _dossier("soon", "SUBMITTED", {"reception": ["accept"]}, due_in_h=3,
                     procedure="khai-sinh"),
            _dossier("no-due", "SUBMITTED", {"reception": ["accept"]}),
            _dossier("citizen-turn", "SUPPLEMENT_REQUESTED", {"citizen": ["supplement"]},
                     due_in_h=5),
            _dossier("no-actions", "SUBMITTED", {"reception": []}, due_in_h=1),
            _dossier("done", "COMPLETED", {"reception": ["accept"]}, due_in_h=1),
            _dossier("elsewhere", "SUBMITTED", {"reception": ["accept"]}, agency=OTHER,
                     due_in_h=1),
        ])  # fmt: skip
        session.commit()

    with db.session() as session:
        reception = open_work(session, AGENCY, ["reception"])
        both = open_work(session, AGENCY, ["reception", "specialist"])
        specialist = open_work(session, AGENCY, ("specialist",))
        only_khai_sinh = open_work(session, AGENCY, ["reception"], procedure="khai-sinh")
        only_late = open_work(session, AGENCY, ["reception", "specialist"], overdue=True)
        on_time = open_work(session, AGENCY, ["reception", "specialist"], overdue=False)
        nobody = open_work(session, AGENCY, [])

    # Due moment first, the dossiers without one last; another agency's, a closed one,
    # one with no action for these roles and the citizen's turn never show.
    assert [w.code for w in reception] == ["soon", "new", "no-due"]
    assert [w.code for w in both] == ["late", "soon", "new", "no-due"]
    assert [w.code for w in specialist] == ["late"]
    assert [w.code for w in only_khai_sinh] == ["soon"]
    assert [w.code for w in only_late] == ["late"]
    assert [w.code for w in on_time] == ["soon", "new", "no-due"]
    assert nobody == []

    late = both[0]
    assert late == WorkItem(
        code="late", status="PROCESSING", procedure_code="ly-lich-tu-phap", agency_code=AGENCY,
        submitted_at=T0, due_at=T0 - timedelta(hours=2), overdue=True,
        current_step="tham_dinh", applicant_name="Người nộp late",
    )  # fmt: skip
    assert late.submitted_at is not None and late.submitted_at.tzinfo is not None


def test_open_work_on_sqlite(db: Database) -> None:
    check_open_work(db)
