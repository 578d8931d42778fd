"""A dossier still waiting for reception past the reception limit is marked in the
officials' work list (red, and in the "overdue" filter), not shown as any other row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from dichvucong.api.routes.official_pages import urgency
from dichvucong.calendar import WorkCalendar
from dichvucong.db.models import Dossier, DossierEvent
from dichvucong.dossiers.inbox import open_work

from .harness import dossier_input, harness

AGENCY = "000.00.12.H19"


async def test_a_dossier_past_its_reception_limit_is_marked(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        now = await h.now()
        late = await h.start(dossier_input(h.new_code(), now - timedelta(days=10)))
        fresh = await h.start(dossier_input(h.new_code(), now))
        await h.env.sleep(timedelta(seconds=2))
        with h.db.session() as session:
            rows = {d.code: d for d in session.exec(select(Dossier)).all()}
            actions = [e.action for e in session.exec(
                select(DossierEvent).where(DossierEvent.dossier_code == late.id)).all()]
            assert "reception_late" in actions
            assert rows[late.id].reception_due_at < datetime.now(UTC)
            assert rows[fresh.id].reception_due_at > datetime.now(UTC)
            work = {w.code: w for w in open_work(session, AGENCY, ["reception"])}
            overdue = {w.code for w in open_work(session, AGENCY, ["reception"], overdue=True)}
            on_time = {w.code for w in open_work(session, AGENCY, ["reception"], overdue=False)}
        wall = datetime.now(UTC)
        soon = WorkCalendar().add_working_days(wall, 1)
        assert urgency(work[late.id], wall, soon) == "overdue"
        assert urgency(work[fresh.id], wall, soon) in ("soon", "")
        assert late.id in overdue and fresh.id not in overdue
        assert fresh.id in on_time and late.id not in on_time
