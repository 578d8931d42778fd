"""Activities of the scheduled workflows (synchronous: the worker's thread pool runs them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from temporalio import activity

from dichvucong.calendar import WorkCalendar
from dichvucong.calendar.work_calendar import VN_TZ
from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier, Notification
from dichvucong.scheduling.contracts import (
    DayInfo,
    DigestInput,
    DigestResult,
    QuarterlyReportInput,
    QuarterlyReportResult,
    ResyncResult,
    SweepResult,
)
from dichvucong.settings import Settings
from dichvucong.workflows.messages import CaseStatus
from dichvucong.workflows.texts import fmt_moment

log = logging.getLogger("dichvucong.scheduling")

DIGEST_ROLES = ("leader", "supervisor")
DIGEST_KIND = "at_risk_digest"
DIGEST_LIMIT = 50  # cases listed in one notice


class ScheduleActivities:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        calendar: WorkCalendar | None = None,
        *,
        national_client: Any | None = None,
        document_store: Any | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._calendar = calendar or WorkCalendar.from_settings(settings)
        self._national = national_client
        self._store = document_store

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.calendar_day,
            self.send_at_risk_digest,
            self.resync_national,
            self.sweep_documents,
            self.write_quarterly_report,
        ]

    # --- calendar

    @activity.defn(name="calendar_day")
    def calendar_day(self, day: str) -> DayInfo:
        d = date.fromisoformat(day)
        working = self._calendar.is_working_day(d)
        first_of_quarter = False
        if working and d.month in (1, 4, 7, 10):
            first = date(d.year, d.month, 1)
            first_of_quarter = all(
                not self._calendar.is_working_day(first + timedelta(days=i))
                for i in range((d - first).days)
            )
        return DayInfo(
            day=day,
            working_day=working,
            description=None if working else (self._calendar.describe(d) or "Ngày nghỉ cuối tuần"),
            first_working_day_of_quarter=first_of_quarter,
        )

    # --- at-risk digest

    @activity.defn(name="send_at_risk_digest")
    def send_at_risk_digest(self, inp: DigestInput) -> DigestResult:
        """One in-app notice per agency (to its leaders and supervisors) listing the
        cases being processed, not yet overdue, due before the end of the next
        ``at_risk_days`` working days: the dashboard's "due soon". A case waiting for
        the citizen (supplement, payment) or with its result issued keeps its old
        DueAt but is not at risk. Idempotent: (DIGEST-<day>, agency, role) is claimed
        once."""
        day = date.fromisoformat(inp.day)
        start = datetime.combine(day, time(0), VN_TZ)
        days = self._settings.at_risk_days or 1
        horizon = self._calendar.add_working_days(datetime.combine(day, time(23, 59), VN_TZ), days)
        with self._db.session() as session:
            rows = session.exec(
                select(Dossier)
                .where(
                    col(Dossier.status) == str(CaseStatus.PROCESSING),
                    col(Dossier.overdue).is_(False),
                    col(Dossier.due_at).is_not(None),
                    col(Dossier.due_at) >= start.astimezone(UTC),
                    col(Dossier.due_at) <= horizon.astimezone(UTC),
                )
                .order_by(col(Dossier.agency_code), col(Dossier.due_at))
            ).all()
        by_agency: dict[str, list[Dossier]] = {}
        for row in rows:
            by_agency.setdefault(row.agency_code, []).append(row)
        notices = 0
        code = f"DIGEST-{day:%Y%m%d}"
        for agency, cases in by_agency.items():
            subject = f"{len(cases)} hồ sơ sắp đến hạn trả kết quả ({day:%d/%m/%Y})"
            lines = [f"- {c.code}: hẹn trả {fmt_moment(c.due_at)}" for c in cases[:DIGEST_LIMIT]]
            if len(cases) > DIGEST_LIMIT:
                lines.append(f"... và {len(cases) - DIGEST_LIMIT} hồ sơ khác")
            body = "Các hồ sơ sau sắp đến hạn trả kết quả:\n" + "\n".join(lines)
            for role in DIGEST_ROLES:
                with self._db.session() as session:
                    session.add(
                        Notification(
                            dossier_code=code,
                            seq=0,
                            channel="inapp",
                            recipient=f"agency:{agency}:{role}",
                            kind=DIGEST_KIND,
                            subject=subject,
                            body=body,
                        )
                    )
                    try:
                        session.commit()
                        notices += 1
                    except IntegrityError:
                        session.rollback()
        log.info("at_risk_digest day=%s agencies=%d notices=%d", inp.day, len(by_agency), notices)
        return DigestResult(
            day=inp.day,
            skipped=False,
            agencies={a: len(c) for a, c in by_agency.items()},
            notices=notices,
        )

    # --- national re-sync

    @activity.defn(name="resync_national")
    def resync_national(self) -> ResyncResult:
        """Transitions whose sync failed (transport) once the workflow's own retries
        are over, in dossier and transition order; each one call (the next night
        tries again what still fails). Rejected ones wait for a person."""
        from dichvucong.integrations.national import (
            NationalCredentialsRefused,
            NationalPortalError,
            unacknowledged,
        )

        result = ResyncResult()
        if self._national is None:
            return result
        failed_dossiers: set[str] = set()
        for request in unacknowledged(self._db):
            if request.dossier_code in failed_dossiers:
                continue  # keep the order: no status before its dossier
            result.attempted += 1
            try:
                outcome = self._national.sync(request)
            except NationalCredentialsRefused:
                result.failed += 1
                break  # every other row would be refused the same way: stop asking
            except NationalPortalError:
                result.failed += 1
                failed_dossiers.add(request.dossier_code)
                continue
            if outcome.status == "synced":
                result.synced += 1
            else:
                result.rejected += 1
            activity.heartbeat(result.attempted)
        log.info("national_resync %s", result)
        return result

    # --- documents

    @activity.defn(name="sweep_documents")
    def sweep_documents(self) -> SweepResult:
        from dichvucong.documents.store import build_document_store, sweep

        store = self._store or build_document_store(self._settings)
        hours = self._settings.document_sweep_grace_hours
        return SweepResult(removed=len(sweep(self._db, store, timedelta(hours=hours))))

    # --- quarterly report

    @activity.defn(name="write_quarterly_report")
    def write_quarterly_report(self, inp: QuarterlyReportInput) -> QuarterlyReportResult:
        from dichvucong.catalog import load_catalog
        from dichvucong.reports import build_report, write_xlsx

        folder = self._settings.reports_dir or Path(self._settings.var_dir) / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"bao-cao-{inp.year}-q{inp.quarter}.xlsx"
        report = build_report(self._db, load_catalog(), self._calendar, inp.year, inp.quarter)
        written = write_xlsx(report, path)
        log.info("quarterly_report year=%s quarter=%s path=%s", inp.year, inp.quarter, written)
        return QuarterlyReportResult(skipped=False, path=str(written))
