"""``dichvucong seed``: migrate, copy the catalog into the read model and, in
development only, create demo accounts. Safe to run again: catalog rows are
updated in place, existing accounts are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, or_, select

from dichvucong.accounts.officials import create_official
from dichvucong.accounts.passwords import hash_password
from dichvucong.accounts.roles import Role
from dichvucong.catalog import Catalog, load_catalog
from dichvucong.db.engine import Database
from dichvucong.db.migrate import upgrade
from dichvucong.db.models import AgencyRow, CitizenAccount, OfficialAccount, ProcedureRow, utcnow
from dichvucong.settings import Settings

# Readable ASCII prefixes of demo usernames: <prefix>.<agency slug>, e.g. tiepnhan.stp
ROLE_USERNAME_PREFIX: dict[Role, str] = {
    Role.RECEPTION: "tiepnhan",
    Role.SPECIALIST: "chuyenvien",
    Role.LEADER: "lanhdao",
    Role.ISSUER: "traketqua",
    Role.SUPERVISOR: "giamsat",
    Role.ADMIN: "quantri",
}

ROLE_TITLE: dict[Role, str] = {
    Role.RECEPTION: "Cán bộ tiếp nhận",
    Role.SPECIALIST: "Chuyên viên xử lý",
    Role.LEADER: "Lãnh đạo",
    Role.ISSUER: "Cán bộ trả kết quả",
    Role.SUPERVISOR: "Cán bộ giám sát",
    Role.ADMIN: "Quản trị hệ thống",
}

# CCCD 079203001234: province 079, digit 2 = male born in the 2000s, "03" = 2003.
DEMO_CITIZEN = {
    "full_name": "Nguyễn Văn An",
    "id_number": "079203001234",
    "date_of_birth": date(2003, 5, 14),
    "phone": "0912345678",
    "email": "an.nguyen@example.vn",
    "address": "Số 12 đường Hà Huy Giáp, phường Quyết Thắng, thành phố Biên Hòa, tỉnh Đồng Nai",
}


@dataclass
class DemoOfficial:
    username: str
    agency_code: str
    agency_name: str
    role: str
    created: bool


@dataclass
class SeedSummary:
    environment: str
    agencies: int = 0
    procedures: int = 0
    citizens_created: int = 0
    officials_created: int = 0
    demo_citizen: str | None = None  # the demo citizen's login (CCCD), when demo data applies
    demo_officials: list[DemoOfficial] = field(default_factory=list)
    demo_skipped_reason: str | None = None
    demo_password: str | None = None

    def describe(self) -> str:
        lines = [f"Danh mục: {self.agencies} cơ quan, {self.procedures} thủ tục "
                 f"(environment={self.environment})."]
        if self.demo_skipped_reason:
            lines.append(f"Tài khoản demo: bỏ qua — {self.demo_skipped_reason}")
            return "\n".join(lines)
        lines.append(f"Tài khoản demo (mật khẩu: {self.demo_password}); "
                     f"mới tạo {self.citizens_created} công dân, "
                     f"{self.officials_created} cán bộ; tài khoản đã có được giữ nguyên.")
        if self.demo_citizen:
            lines.append(f"  Công dân: {self.demo_citizen} ({DEMO_CITIZEN['full_name']}, "
                         f"SĐT {DEMO_CITIZEN['phone']}, {DEMO_CITIZEN['email']})")
        current = None
        for o in self.demo_officials:
            if o.agency_code != current:
                current = o.agency_code
                lines.append(f"  {o.agency_name} ({o.agency_code}):")
            lines.append(f"    {o.username:<24} {o.role}")
        return "\n".join(lines)


def demo_username(role: Role, agency_slug: str) -> str:
    return f"{ROLE_USERNAME_PREFIX[role]}.{agency_slug}"


def sync_catalog(session: Session, catalog: Catalog) -> None:
    """Upsert the catalog copy (rows no longer in the catalog are kept: dossiers refer to them)."""
    for agency in catalog.agencies.values():
        row = session.get(AgencyRow, agency.code) or AgencyRow(
            code=agency.code, name="", admin_level="")
        row.name = agency.name
        row.admin_level = agency.admin_level
        row.parent_code = agency.parent_code
        session.add(row)
    for p in catalog.procedures.values():
        prow = session.get(ProcedureRow, p.code) or ProcedureRow(
            code=p.code, name="", sector="", field="", admin_level="", service_level="")
        prow.national_code = p.national_code
        prow.name = p.name
        prow.sector = p.sector
        prow.field = p.field
        prow.admin_level = p.admin_level
        prow.service_level = p.service_level
        prow.definition = p.model_dump(mode="json")
        session.add(prow)
    session.commit()


def _seed_citizen(session: Session, password: str) -> bool:
    c = DEMO_CITIZEN
    existing = session.exec(select(CitizenAccount).where(or_(
        CitizenAccount.id_number == c["id_number"],
        CitizenAccount.phone == c["phone"],
        CitizenAccount.email == c["email"],
    ))).first()
    if existing is not None:
        return False
    # The simulated VNeID's first identity is this person: signing in with it enters
    # the demo account (a real account is linked by its owner, signed in).
    session.add(CitizenAccount(**c, password_hash=hash_password(password),  # type: ignore[arg-type]
                               vneid_verified_at=utcnow()))  # fmt: skip
    session.commit()
    return True


def _seed_officials(session: Session, catalog: Catalog, password: str,
                    summary: SeedSummary) -> None:
    existing = set(session.exec(select(OfficialAccount.username)).all())
    for agency in catalog.agencies.values():
        for role in Role:
            username = demo_username(role, agency.slug)
            created = username not in existing
            if created:
                create_official(session=session, username=username, password=password,
                                agency_code=agency.code, roles=[role.value],
                                full_name=f"{ROLE_TITLE[role]} — {agency.name}")
                summary.officials_created += 1
            summary.demo_officials.append(DemoOfficial(
                username=username, agency_code=agency.code, agency_name=agency.name,
                role=role.value, created=created))


def seed(settings: Settings, *, catalog: Catalog | None = None) -> SeedSummary:
    catalog = catalog or load_catalog()
    url = settings.resolved_database_url
    upgrade(url)
    summary = SeedSummary(environment=settings.environment, agencies=len(catalog.agencies),
                          procedures=len(catalog.procedures))
    db = Database(url)
    try:
        with db.session() as session:
            sync_catalog(session, catalog)
            if settings.environment == "production":
                summary.demo_skipped_reason = "môi trường production không tạo tài khoản demo."
            elif settings.environment != "development":
                summary.demo_skipped_reason = (
                    f"chỉ tạo trong môi trường development (hiện tại: {settings.environment}).")
            else:
                summary.demo_password = settings.demo_password
                summary.citizens_created += _seed_citizen(session, settings.demo_password)
                summary.demo_citizen = str(DEMO_CITIZEN["id_number"])
                _seed_officials(session, catalog, settings.demo_password, summary)
    finally:
        db.dispose()
    return summary
