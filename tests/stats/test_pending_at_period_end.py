"""A past quarter's "of which overdue" is the dossiers overdue at its end, whatever
happened to them after: a dossier waiting for the citizen's supplement at the end
(its clock stopped) is not overdue then, even once withdrawn later; one processing
and past its due moment at the end is, even if it waits for a supplement now."""

from __future__ import annotations

from pathlib import Path

import pytest

from dichvucong.db.engine import Database
from dichvucong.db.migrate import upgrade
from dichvucong.db.models import Dossier, DossierEvent
from dichvucong.stats import compute_statistics, quarter_period
from tests.stats.known_data import NOW, A, vn

Q2 = quarter_period(2027, 2)


def _case(code: str, status: str, timeline: list[tuple[int, int, str]], **values) -> list:
    rows: list = [Dossier(code=code, agency_code=A, procedure_code="ly-lich-tu-phap",
                          submitted_at=vn(2027, 6, 1, 8, 0), received_at=vn(2027, 6, 1, 8, 0),
                          due_at=vn(2027, 6, 16, 8, 0), status=status, **values)]  # fmt: skip
    for seq, (month, day, to_status) in enumerate(timeline):
        rows.append(DossierEvent(dossier_code=code, seq=seq, at=vn(2027, month, day, 9, 0),
                                 actor="system", action="x", to_status=to_status))  # fmt: skip
    return rows


CASES = {
    # Waiting for the citizen on 30/6, withdrawn in July: not overdue at the end.
    "W": ("WITHDRAWN", [(6, 1, "SUBMITTED"), (6, 2, "PROCESSING"),
                        (6, 10, "SUPPLEMENT_REQUESTED"), (7, 5, "WITHDRAWN")],
          {"closed_at": vn(2027, 7, 5, 9, 0)}, 0),
    # Processing and past due on 30/6, asked for a supplement in July: overdue.
    "S": ("SUPPLEMENT_REQUESTED", [(6, 1, "SUBMITTED"), (6, 2, "PROCESSING"),
                                   (7, 3, "SUPPLEMENT_REQUESTED")], {}, 1),
    # Still waiting for the citizen: not overdue, as before.
    "P": ("SUPPLEMENT_REQUESTED", [(6, 1, "SUBMITTED"), (6, 2, "PROCESSING"),
                                   (6, 10, "SUPPLEMENT_REQUESTED")], {}, 0),
}  # fmt: skip


@pytest.mark.parametrize("code", sorted(CASES))
def test_the_status_at_the_end_of_the_quarter_decides(tmp_path: Path, code: str) -> None:
    status, timeline, values, overdue = CASES[code]
    url = f"sqlite:///{tmp_path / 'rm.db'}"
    upgrade(url)
    db = Database(url)
    try:
        with db.session() as session:
            for row in _case(code, status, timeline, **values):
                session.add(row)
            session.commit()
        ind = compute_statistics(db, Q2, now=NOW).by_agency[A]
        assert (ind.pending, ind.pending_overdue) == (1, overdue)
    finally:
        db.dispose()
