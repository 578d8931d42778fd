"""The public lookup (``dossiers.views.lookup``): by dossier code, CCCD, passport number or
the appointment slip's QR URL; newest first, at most ``limit``, the name masked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dichvucong.catalog import load_catalog
from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier
from dichvucong.dossiers.views import lookup

AGENCY = "000.00.12.H19"
T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
CCCD = "075203001234"
PASSPORT = "C1234567"


def _dossier(n: int, **applicant: str) -> Dossier:
    return Dossier(
        code=f"{AGENCY}-260302-L{n:04d}",
        procedure_code="ly-lich-tu-phap",
        agency_code=AGENCY,
        applicant_name="Nguyễn Văn An",
        status="PROCESSING",
        submitted_at=T0 + timedelta(hours=n),
        received_at=T0 + timedelta(hours=n, minutes=5),
        due_at=T0 + timedelta(days=10),
        state={"form": {"ho_ten": "Nguyễn Văn An"}},
        **applicant,
    )


def check_lookup(db: Database) -> None:
    catalog = load_catalog()
    with db.session() as session:
        session.add_all([_dossier(n, applicant_id_number=CCCD) for n in range(1, 5)])
        session.add(_dossier(9, applicant_passport=PASSPORT))
        session.add(_dossier(10, applicant_id_number="079000000001"))
        session.commit()

    with db.read_session() as session:
        by_cccd = lookup(session, catalog, f"  {CCCD} ")
        first_two = lookup(session, catalog, CCCD, limit=2)
        by_passport = lookup(session, catalog, PASSPORT.lower())
        by_code = lookup(session, catalog, f"{AGENCY}-260302-L0002")
        by_qr = lookup(session, catalog, f"https://dichvucong.example/tra-cuu?q={AGENCY}-260302-L0003")
        unknown = lookup(session, catalog, "000.00.12.H19-260302-X9999")
        blank = lookup(session, catalog, "   ")

    assert [r.dossier_code[-5:] for r in by_cccd] == ["L0004", "L0003", "L0002", "L0001"]
    assert [r.dossier_code[-5:] for r in first_two] == ["L0004", "L0003"]
    assert [r.dossier_code[-5:] for r in by_passport] == ["L0009"]
    assert [r.dossier_code[-5:] for r in by_code] == ["L0002"]
    assert [r.dossier_code[-5:] for r in by_qr] == ["L0003"]
    assert unknown == [] and blank == []

    found = by_code[0]
    assert found.applicant == "Nguyễn V** A**"
    assert found.procedure_name == catalog.procedure_name("ly-lich-tu-phap")
    assert found.agency_name == catalog.agency_name(AGENCY)
    assert found.status == "PROCESSING" and found.status_label
    assert found.submitted_at == T0 + timedelta(hours=2)
    assert found.received_at == T0 + timedelta(hours=2, minutes=5)
    assert found.submitted_at.tzinfo is not None and found.finished_at is None


def test_lookup_on_sqlite(db: Database) -> None:
    check_lookup(db)
