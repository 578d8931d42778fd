"""The demo data generator drives real workflows into every kind of state."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import select

from dichvucong.db.models import Dossier, acting_roles
from dichvucong.demo_data import generate

from .api.portal import portal


async def test_demo_cases_of_every_kind(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        seen: list[int] = []
        summary = await generate(p.settings, p.env.client, cases=40, seed=7,
                                 progress=lambda done, total: seen.append(done))
        assert sum(summary.created.values()) == 40 and seen[-1] == 40
        with p.db.session() as session:
            rows = session.exec(select(Dossier)).all()
        assert len(rows) == 40
        statuses = {row.status for row in rows}
        assert {"SUBMITTED", "PROCESSING", "COMPLETED"} <= statuses
        assert len(statuses) >= 6
        # Every writer on the way (the ORM, the workflow's records) keeps the inbox's filter
        # true to the state, and the open cases wait for someone.
        assert all(row.acting_roles == acting_roles(row.state) for row in rows)
        assert any("|reception|" in row.acting_roles for row in rows)
        assert all(row.acting_roles == "" for row in rows if row.status == "COMPLETED")
        # paper dossiers entered weeks after reception are overdue at once (their timer
        # fires right after reception; the worker records it a moment later)
        assert summary.created["overdue"] > 0
        for _ in range(100):
            with p.db.session() as session:
                overdue = session.exec(select(Dossier).where(Dossier.overdue)).all()
            if overdue:
                break
            await asyncio.sleep(0.05)
        assert overdue and {row.status for row in overdue} == {"PROCESSING"}
        assert all(row.last_seq >= 0 for row in rows)  # every case went through its workflow
        again = await generate(p.settings, p.env.client, cases=5, if_empty=True)
        assert again.skipped_reason is not None
