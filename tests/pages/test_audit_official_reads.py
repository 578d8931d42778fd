"""An official opening a form of a case (01–06, the receipt PDF, the appointment slip)
reads the applicant's personal data: each opening is audited like the case page;
the citizen reading their own receipt leaves no trace."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from dichvucong.db.engine import Database
from dichvucong.security.models import AuditEvent
from tests.api.portal import STP, portal
from tests.pages.test_official_pages import desk, submitted


def form_reads(db: Database, code: str) -> list[tuple[str, str | None, str | None]]:
    with db.session() as session:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "read_personal_data", AuditEvent.dossier_code == code)
            .order_by(AuditEvent.id)  # type: ignore[arg-type]
        ).all()
    return [
        (e.actor, (e.detail or {}).get("form"), (e.detail or {}).get("format"))
        for e in rows
        if (e.detail or {}).get("what") == "form"
    ]


async def test_officials_form_reads_are_audited_citizens_are_not(tmp_path: Path) -> None:
    async with portal(tmp_path) as p:
        await p.register()
        citizen = await p.login("075203001234")
        code = await submitted(p, citizen)
        reception = await desk(p, "tiepnhan", STP, "reception")

        # The citizen's own receipt, as a PDF and as the slip page: no audit.
        assert (
            await p.http.get(f"/api/v1/dossiers/{code}/receipt.pdf", headers=citizen)
        ).status_code == 200
        assert form_reads(p.db, code) == []

        for path in (
            f"/can-bo/ho-so/{code}/mau/01.html",
            f"/can-bo/ho-so/{code}/mau/01.pdf",
            f"/ho-so/{code}/phieu-hen",
            f"/api/v1/dossiers/{code}/receipt.pdf",
        ):
            answer = await reception.http.get(path)
            assert answer.status_code == 200, (path, answer.text[:200])
        official = "official:1"
        assert form_reads(p.db, code) == [
            (official, "01", "html"),
            (official, "01", "pdf"),
            (official, "01", "html"),
            (official, "01", "pdf"),
        ]
        with p.db.session() as session:
            agencies = {
                (e.detail or {}).get("agency")
                for e in session.exec(select(AuditEvent)).all()
                if (e.detail or {}).get("what") == "form"
            }
        assert agencies == {STP}  # the agency's supervisor's export keeps them

        # A form that is not available for this case yet is no read at all.
        assert (await reception.http.get(f"/can-bo/ho-so/{code}/mau/03.pdf")).status_code == 404
        assert len(form_reads(p.db, code)) == 4
