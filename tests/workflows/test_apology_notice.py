"""The citizen's notice of an apology is the apology (Decree 61/2018: the reason and
the new date), not a "moved to «Đang xử lý»" notice of a status that did not change."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from dichvucong.db.models import Notification
from dichvucong.workflows.dossier import DossierWorkflow
from dichvucong.workflows.messages import ApologizeInput

from .harness import harness, vn
from .test_audit_decision_inputs import LEADER, _overdue_cases


async def test_the_apology_notice_apologises(tmp_path: Path) -> None:
    async with harness(tmp_path) as h, h.worker():
        (handle,) = await _overdue_cases(h, 1, applicant_id=7)
        await handle.execute_update(
            DossierWorkflow.apologize,
            ApologizeInput(new_due=vn(2027, 1, 29, 16, 0), reason="Chờ xác minh", actor=LEADER),
        )
        with h.db.session() as session:
            rows = session.exec(
                select(Notification).where(Notification.recipient == "citizen:7")
            ).all()
        last = max(rows, key=lambda r: r.seq)
        assert "16:00 29/01/2027" in last.body  # the new date is there
        text = (last.subject + " " + last.body).lower()
        assert "xin lỗi" in text, (last.subject, last.body)
        assert "chuyển sang trạng thái" not in last.body, last.body  # nothing moved
