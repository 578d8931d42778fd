"""seed(): migrations, catalog copy and demo accounts; running it twice changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from dichvucong.accounts.passwords import verify_password
from dichvucong.catalog import load_catalog
from dichvucong.db.engine import Database
from dichvucong.db.models import AgencyRow, CitizenAccount, OfficialAccount, ProcedureRow
from dichvucong.seed import SeedSummary, seed
from dichvucong.settings import Settings


def _snapshot(settings: Settings) -> dict[str, object]:
    db = Database(settings.resolved_database_url)
    try:
        with db.session() as s:
            return {
                "agencies": sorted((r.code, r.name, r.admin_level, r.parent_code)
                                   for r in s.exec(select(AgencyRow))),
                "procedures": sorted((r.code, r.national_code, r.service_level, str(r.definition))
                                     for r in s.exec(select(ProcedureRow))),
                "citizens": sorted((c.id, c.id_number, c.password_hash)
                                   for c in s.exec(select(CitizenAccount))),
                "officials": sorted((o.id, o.username, o.agency_code, tuple(o.roles),
                                     o.password_hash) for o in s.exec(select(OfficialAccount))),
            }
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, SeedSummary]:
    """One development database seeded once (hashing ~40 passwords takes seconds)."""
    settings = Settings(var_dir=tmp_path_factory.mktemp("seed"), environment="development")
    return settings, seed(settings)


@pytest.fixture
def dev_settings(seeded: tuple[Settings, SeedSummary]) -> Settings:
    return seeded[0]


def test_seed_twice_is_idempotent(seeded: tuple[Settings, SeedSummary]) -> None:
    catalog = load_catalog()
    dev_settings, first = seeded
    before = _snapshot(dev_settings)
    second = seed(dev_settings)
    assert _snapshot(dev_settings) == before

    assert len(before["agencies"]) == len(catalog.agencies)  # type: ignore[arg-type]
    assert len(before["procedures"]) == len(catalog.procedures)  # type: ignore[arg-type]
    assert first.citizens_created == 1 and second.citizens_created == 0
    assert first.officials_created == 6 * len(catalog.agencies)
    assert second.officials_created == 0
    assert len(second.demo_officials) == first.officials_created


def test_seeded_rows_and_accounts(seeded: tuple[Settings, SeedSummary]) -> None:
    dev_settings, summary = seeded
    db = Database(dev_settings.resolved_database_url)
    try:
        with db.session() as s:
            row = s.get(ProcedureRow, "ly-lich-tu-phap")
            assert row is not None and row.national_code == "2.000488"
            assert row.definition["fee"]["base_amount"] == 200000
            assert row.definition == load_catalog().procedures["ly-lich-tu-phap"].model_dump(
                mode="json")
            citizen = s.exec(select(CitizenAccount)).one()
            assert (citizen.full_name, citizen.id_number, citizen.phone, citizen.email) == (
                "Nguyễn Văn An", "079203001234", "0912345678", "an.nguyen@example.vn")
            assert citizen.date_of_birth.year == 2003
            assert verify_password(citizen.password_hash, dev_settings.demo_password)
            official = s.exec(select(OfficialAccount).where(
                OfficialAccount.username == "tiepnhan.stp")).one()
            assert official.agency_code == "000.00.12.H19" and official.roles == ["reception"]
            assert verify_password(official.password_hash, dev_settings.demo_password)
    finally:
        db.dispose()
    text = summary.describe()
    for username in ("tiepnhan.stp", "chuyenvien.stp", "lanhdao.stp", "traketqua.stp",
                     "giamsat.stp", "quantri.stp", "tiepnhan.tanphong", "079203001234"):
        assert username in text


def test_existing_accounts_are_left_alone(dev_settings: Settings) -> None:
    db = Database(dev_settings.resolved_database_url)
    try:
        with db.session() as s:
            official = s.exec(select(OfficialAccount).where(
                OfficialAccount.username == "lanhdao.stp")).one()
            official.full_name = "Trần Thị Bình"
            official.roles = ["leader", "supervisor"]
            s.add(official)
            s.commit()
    finally:
        db.dispose()
    seed(dev_settings)
    db = Database(dev_settings.resolved_database_url)
    try:
        with db.session() as s:
            official = s.exec(select(OfficialAccount).where(
                OfficialAccount.username == "lanhdao.stp")).one()
            assert official.full_name == "Trần Thị Bình"
            assert official.roles == ["leader", "supervisor"]
    finally:
        db.dispose()


@pytest.mark.parametrize("environment", ["production", "test"])
def test_no_demo_accounts_outside_development(tmp_path: Path, environment: str) -> None:
    settings = Settings(var_dir=tmp_path, environment=environment, secret_key="a-real-secret-1234",
                        payment_secret="real-payment-secret", postal_secret="real-postal-secret",
                        payment_gateway_url="https://gateway.example",
                        postal_api_url="https://postal.example")
    summary = seed(settings)
    snap = _snapshot(settings)
    assert snap["citizens"] == [] and snap["officials"] == []
    assert snap["procedures"]
    assert summary.demo_skipped_reason
    assert "bỏ qua" in summary.describe()
    if environment == "production":
        assert "production" in summary.describe()
