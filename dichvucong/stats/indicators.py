"""Service-quality indicators (Decision 766/QĐ-TTg, 2022) from the read model.

Every count is a SQL aggregate grouped by agency, so a report over a million
dossiers reads a handful of grouped rows, never the dossiers one by one. The
only calendar-bound figure, the average processing time in working days, is
split exactly into parts SQL can group (see ``_processing_days``).

Period rules (``Period`` is half-open [start, end), Vietnam time):

* received: ``received_at`` in the period, by channel (online / counter / postal);
* resolved: ``finished_at`` in the period (a result issued, or a rejection
  with reasons), split by ``timeliness`` early / on_time / late; the workflow
  already folds "ever overdue" and "more than one supplement" into ``late``
  (the Decision 766 rule; time waiting for the citizen is excluded because the
  clock restarts after a supplement);
* refused / rejected / withdrawn: the closing moment ``closed_at`` in the period;
* pending at the end of the period: received before the end, neither finished
  nor closed before the end — reconstructed from the timestamps. "Of which
  overdue": the current ``due_at`` (after any apology: an approximation) before
  min(end, now), the dossier not waiting for the citizen's supplement at the end
  (for a past period read from its timeline, the status its last event before
  the end left), or the live ``overdue`` flag;
* synced to the National Public Service Portal: dossiers received in the
  period whose first report (the ``national_sync`` row of kind ``dossier``) the
  portal acknowledged (status ``synced``); a rejected, failed or missing report
  does not count. Decision 766 counts the online rate as the national portal
  sees it: online rate × sync rate (``online_rate_synced``);
* online payment: payments confirmed (``paid_at``) in the period;
* digitised results: resolved dossiers (not rejected) with a document of kind
  ``result``;
* complaints: resolved dossiers that have feedback of a complaint kind;
* satisfaction = 100 % − (late rate + share with complaints), the Decision 766
  formula (floored at 0); ratings are reported beside it;
* feedback: received in the period; answered on time = answered no later than
  its due moment; overdue = unanswered past its due moment (at min(end, now));
  not yet due = unanswered and not overdue. The on-time rate counts only the
  feedback whose outcome is known (answered, or overdue): an unanswered item
  still within its 3 working days has failed nothing yet.

Rates are fractions (0–1) or ``None`` when the denominator is 0.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlmodel import Session

from dichvucong.calendar import WorkCalendar
from dichvucong.db.engine import Database
from dichvucong.db.models import Dossier, DossierDocument, DossierEvent, NationalSync
from dichvucong.feedback.models import COMPLAINT_KINDS, Feedback
from dichvucong.stats.periods import Period, year_to_date

VN_OFFSET_SECONDS = 7 * 3600  # Vietnam has kept UTC+7 without daylight saving since 1975
SECONDS_PER_DAY = 86_400
_EPOCH = date(1970, 1, 1)
# Literals, not bound parameters: the same expression appears in SELECT and GROUP BY.
_OFFSET = sa.literal_column(str(VN_OFFSET_SECONDS), sa.BigInteger())
_DAY = sa.literal_column(str(SECONDS_PER_DAY), sa.BigInteger())

D = Dossier.__table__.c  # type: ignore[attr-defined]
DOC = DossierDocument.__table__.c  # type: ignore[attr-defined]
EV = DossierEvent.__table__.c  # type: ignore[attr-defined]
FB = Feedback.__table__.c  # type: ignore[attr-defined]
NS = NationalSync.__table__.c  # type: ignore[attr-defined]
# What the national portal acknowledged (see dichvucong.integrations.national).
NATIONAL_DOSSIER_KIND, NATIONAL_SYNCED = "dossier", "synced"

Progress = Callable[[int, int, str], None]


@dataclass
class Indicators:
    """Counts for one agency (or the province); rates are derived properties."""

    received: int = 0
    received_online: int = 0
    received_counter: int = 0
    received_postal: int = 0
    national_synced: int = 0
    resolved: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    rejected: int = 0
    pending: int = 0
    pending_overdue: int = 0
    refused: int = 0
    withdrawn: int = 0
    paid: int = 0
    paid_online: int = 0
    # Decision 766's online payment rate: of the dossiers received with a fee, those paid
    # online (one cohort, whatever became of the others: counter, expired, no stage).
    with_fee: int = 0
    with_fee_paid_online: int = 0
    digitised: int = 0
    very_satisfied: int = 0
    satisfied: int = 0
    unsatisfied: int = 0
    with_complaints: int = 0
    processing_count: int = 0
    processing_days_total: float = 0.0
    feedback_received: int = 0
    feedback_answered: int = 0
    feedback_answered_on_time: int = 0
    feedback_overdue: int = 0
    feedback_not_yet_due: int = 0

    def __add__(self, other: Indicators) -> Indicators:
        return Indicators(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    # --- rates (fractions 0–1; None when nothing to divide)

    @property
    def online_rate(self) -> float | None:
        return _ratio(self.received_online, self.received)

    @property
    def national_sync_rate(self) -> float | None:
        """Dossiers received and acknowledged by the national portal, over received."""
        return _ratio(self.national_synced, self.received)

    @property
    def online_rate_synced(self) -> float | None:
        """The online rate as Decision 766 counts it nationally: × the sync rate."""
        online, synced = self.online_rate, self.national_sync_rate
        return None if online is None or synced is None else online * synced

    @property
    def online_payment_rate(self) -> float | None:
        return _ratio(self.with_fee_paid_online, self.with_fee)

    @property
    def early_rate(self) -> float | None:
        return _ratio(self.early, self.resolved)

    @property
    def on_time_rate(self) -> float | None:
        """Early or on time, over all resolved (the rate the portal publishes)."""
        return _ratio(self.early + self.on_time, self.resolved)

    @property
    def late_rate(self) -> float | None:
        return _ratio(self.late, self.resolved)

    @property
    def digitised_rate(self) -> float | None:
        return _ratio(self.digitised, self.resolved - self.rejected)

    @property
    def complaint_rate(self) -> float | None:
        return _ratio(self.with_complaints, self.resolved)

    @property
    def satisfaction_rate(self) -> float | None:
        if not self.resolved:
            return None
        return max(0.0, 1.0 - (self.late + self.with_complaints) / self.resolved)

    @property
    def rated(self) -> int:
        return self.very_satisfied + self.satisfied + self.unsatisfied

    @property
    def rating_satisfied_rate(self) -> float | None:
        return _ratio(self.very_satisfied + self.satisfied, self.rated)

    @property
    def average_processing_days(self) -> float | None:
        if not self.processing_count:
            return None
        return self.processing_days_total / self.processing_count

    @property
    def feedback_on_time_rate(self) -> float | None:
        """Answered on time, over the feedback whose outcome is known (answered or
        overdue); feedback still within its deadline is neither a success nor a failure."""
        return _ratio(
            self.feedback_answered_on_time, self.feedback_answered + self.feedback_overdue
        )

    def as_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in RATE_NAMES:
            values[name] = getattr(self, name)
        return values


RATE_NAMES = (
    "online_rate",
    "national_sync_rate",
    "online_rate_synced",
    "online_payment_rate",
    "early_rate",
    "on_time_rate",
    "late_rate",
    "digitised_rate",
    "complaint_rate",
    "satisfaction_rate",
    "rating_satisfied_rate",
    "average_processing_days",
    "feedback_on_time_rate",
)


@dataclass
class Statistics:
    period: Period
    by_agency: dict[str, Indicators] = field(default_factory=dict)

    @property
    def total(self) -> Indicators:
        total = Indicators()
        for indicators in self.by_agency.values():
            total = total + indicators
        return total


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --------------------------------------------------------------- SQL helpers


class epoch_seconds(FunctionElement[int]):  # noqa: N801 - SQL function naming
    """Seconds since 1970-01-01 UTC of an aware timestamp column, per dialect."""

    type = sa.BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    # SQLite keeps naive UTC text ("YYYY-MM-DD HH:MM:SS.ffffff"): see AwareDateTime.
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds)
def _epoch_default(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"


def _local_seconds(column: Any) -> ColumnElement[int]:
    return epoch_seconds(column) + _OFFSET


def _local_day(column: Any) -> ColumnElement[int]:
    """Days since 1970-01-01 of the moment's Vietnam date (moments after 1970)."""
    return _local_seconds(column) // _DAY


def _second_of_day(column: Any) -> ColumnElement[int]:
    return _local_seconds(column) % _DAY


def _in(column: Any, period: Period) -> ColumnElement[bool]:
    return sa.and_(column >= period.start, column < period.end)


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


@contextmanager
def _connection(db: Database | Session | Connection) -> Iterator[Connection]:
    if isinstance(db, Connection):
        yield db
    elif isinstance(db, Session):
        yield db.connection()
    else:
        with db.engine.connect() as conn:
            yield conn


# --------------------------------------------------------------- computation


def compute_statistics(
    db: Database | Session | Connection,
    period: Period,
    *,
    calendar: WorkCalendar | None = None,
    agencies: Collection[str] | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Statistics:
    """Indicators per agency over ``period``; ``calendar`` enables the average
    processing time in working days (skipped when None)."""
    now = now or datetime.now(UTC)
    cutoff = min(period.end, now)
    steps: list[tuple[str, Callable[[Connection], None]]] = []
    stats = Statistics(period=period)

    def get(agency: str) -> Indicators:
        return stats.by_agency.setdefault(agency, Indicators())

    def dossier_where(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
        extra = [D.agency_code.in_(list(agencies))] if agencies is not None else []
        return sa.and_(sa.true(), *conditions, *extra)

    resolved = sa.and_(_in(D.finished_at, period), D.timeliness.is_not(None))

    def counts(conn: Connection) -> None:
        pending = sa.and_(
            D.received_at < period.end,
            sa.or_(D.finished_at.is_(None), D.finished_at >= period.end),
            sa.or_(D.closed_at.is_(None), D.closed_at >= period.end),
        )
        overdue_now = sa.or_(
            sa.and_(D.due_at.is_not(None), D.due_at < cutoff, _not_waiting_for_citizen(period, now)),
            sa.and_(D.overdue.is_(sa.true()), sa.literal(period.end >= now)),
        )
        received = _in(D.received_at, period)
        was_paid = D.payment_status.in_(("paid", "refund_requested", "refund_failed"))
        paid = sa.and_(_in(D.paid_at, period), was_paid)
        with_fee = sa.and_(received, D.fee_amount > 0)
        columns = {
            "received": _count(received),
            "received_online": _count(sa.and_(received, D.channel == "online")),
            "received_counter": _count(sa.and_(received, D.channel == "counter")),
            "received_postal": _count(sa.and_(received, D.channel == "postal")),
            "resolved": _count(resolved),
            "early": _count(sa.and_(resolved, D.timeliness == "early")),
            "on_time": _count(sa.and_(resolved, D.timeliness == "on_time")),
            "late": _count(sa.and_(resolved, D.timeliness == "late")),
            "rejected": _count(sa.and_(resolved, D.status == "REJECTED")),
            "pending": _count(pending),
            "pending_overdue": _count(sa.and_(pending, overdue_now)),
            "refused": _count(sa.and_(D.status == "REFUSED", _in(D.closed_at, period))),
            "withdrawn": _count(sa.and_(D.status == "WITHDRAWN", _in(D.closed_at, period))),
            "paid": _count(paid),
            "paid_online": _count(sa.and_(paid, D.payment_method == "online")),
            "with_fee": _count(with_fee),
            "with_fee_paid_online": _count(
                sa.and_(with_fee, was_paid, D.payment_method == "online")
            ),
            "very_satisfied": _count(sa.and_(resolved, D.rating == "very_satisfied")),
            "satisfied": _count(sa.and_(resolved, D.rating == "satisfied")),
            "unsatisfied": _count(sa.and_(resolved, D.rating == "unsatisfied")),
        }
        stmt = (
            sa.select(D.agency_code, *[c.label(k) for k, c in columns.items()])
            .where(dossier_where())
            .group_by(D.agency_code)
        )
        for row in conn.execute(stmt).mappings():
            target = get(row["agency_code"])
            for key in columns:
                setattr(target, key, int(row[key] or 0))

    def digitised(conn: Connection) -> None:
        has_result = sa.exists().where(DOC.dossier_code == D.code, DOC.kind == "result")
        stmt = (
            sa.select(D.agency_code, sa.func.count())
            .where(dossier_where(resolved, D.status != "REJECTED", has_result))
            .group_by(D.agency_code)
        )
        for agency, n in conn.execute(stmt):
            get(agency).digitised = int(n)

    def national(conn: Connection) -> None:
        # The status of the dossier's first report: an index probe on the primary
        # key (dossier_code, seq) per received dossier. (An EXISTS filtering on
        # status lets SQLite pick the status index instead: quadratic.)
        first_report = (
            sa.select(NS.status)
            .where(NS.dossier_code == D.code, NS.kind == NATIONAL_DOSSIER_KIND)
            .order_by(NS.seq)
            .limit(1)
            .scalar_subquery()
        )
        stmt = (
            sa.select(D.agency_code, sa.func.count())
            .where(dossier_where(_in(D.received_at, period), first_report == NATIONAL_SYNCED))
            .group_by(D.agency_code)
        )
        for agency, n in conn.execute(stmt):
            get(agency).national_synced = int(n)

    def complaints(conn: Connection) -> None:
        complained = sa.exists().where(FB.dossier_code == D.code, FB.kind.in_(COMPLAINT_KINDS))
        stmt = (
            sa.select(D.agency_code, sa.func.count())
            .where(dossier_where(resolved, complained))
            .group_by(D.agency_code)
        )
        for agency, n in conn.execute(stmt):
            get(agency).with_complaints = int(n)

    def feedback(conn: Connection) -> None:
        received = _in(FB.received_at, period)
        on_time = sa.and_(
            FB.answered_at.is_not(None), FB.due_at.is_not(None), FB.answered_at <= FB.due_at
        )
        late_open = sa.and_(FB.answered_at.is_(None), FB.due_at.is_not(None), FB.due_at < cutoff)
        not_yet_due = sa.and_(FB.answered_at.is_(None), sa.not_(late_open))
        extra = [FB.agency_code.in_(list(agencies))] if agencies is not None else []
        stmt = (
            sa.select(
                FB.agency_code,
                sa.func.count(),
                _count(FB.answered_at.is_not(None)),
                _count(on_time),
                _count(late_open),
                _count(not_yet_due),
            )
            .where(received, *extra)
            .group_by(FB.agency_code)
        )
        for agency, n, answered, in_time, overdue, not_due in conn.execute(stmt):
            target = get(agency)
            target.feedback_received = int(n)
            target.feedback_answered = int(answered)
            target.feedback_answered_on_time = int(in_time)
            target.feedback_overdue = int(overdue)
            target.feedback_not_yet_due = int(not_due)

    def processing(conn: Connection) -> None:
        assert calendar is not None
        where = dossier_where(resolved, D.received_at.is_not(None))
        for agency, (count, days) in _processing_days(conn, calendar, where).items():
            target = get(agency)
            target.processing_count, target.processing_days_total = count, days

    steps = [
        ("Đếm hồ sơ", counts),
        ("Kết quả điện tử", digitised),
        ("Đồng bộ Cổng DVC quốc gia", national),
        ("Phản ánh về hồ sơ", complaints),
        ("Phản ánh, kiến nghị", feedback),
    ]
    if calendar is not None:
        steps.append(("Thời gian giải quyết", processing))
    with _connection(db) as conn:
        for index, (label, step) in enumerate(steps):
            if progress:
                progress(index, len(steps), label)
            step(conn)
    if progress:
        progress(len(steps), len(steps), "Xong")
    if agencies is not None:
        for agency in agencies:
            get(agency)
    return stats


def province_statistics(
    db: Database | Session | Connection,
    period: Period,
    *,
    listed: Collection[str] = (),
    calendar: WorkCalendar | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Statistics:
    """The province's statistics, the one definition every page, API and report uses:
    every agency's dossiers and feedback, including agencies no longer in the catalog
    (their dossiers were received and decided here and still count), with each agency
    of ``listed`` (the catalog's) present, with zeros, even when it has no data."""
    stats = compute_statistics(db, period, calendar=calendar, now=now, progress=progress)
    for agency in listed:
        stats.by_agency.setdefault(agency, Indicators())
    return stats


def scoped_statistics(
    db: Database | Session | Connection,
    period: Period,
    *,
    scope: Collection[str] | None,
    listed: Collection[str] = (),
    calendar: WorkCalendar | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Statistics:
    """Statistics of a supervisor's scope: the province (``province_statistics``) when
    ``scope`` is None, else exactly the agencies of ``scope``."""
    if scope is None:
        return province_statistics(
            db, period, listed=listed, calendar=calendar, now=now, progress=progress
        )
    return compute_statistics(
        db, period, calendar=calendar, agencies=scope, now=now, progress=progress
    )


def _processing_days(
    conn: Connection,
    calendar: WorkCalendar,
    where: ColumnElement[bool],
) -> dict[str, tuple[int, float]]:
    """Sum of ``calendar.working_days_elapsed(received_at, finished_at)`` per agency.

    elapsed(a, b) = [working days in [day(a), day(b))] + office(b) − office(a), where
    office(x) is the office time before x on x's day (0 on a day off), in working
    days. The first part depends only on the two dates, the others only on one
    date and the time of day: three GROUP BY queries of at most days² and days
    rows each, exact to the second.
    """
    intervals = [(_secs(s), _secs(e)) for s, e in calendar.office_hours]
    full = sum(e - s for s, e in intervals)
    rd, fd = _local_day(D.received_at), _local_day(D.finished_at)
    pairs = (
        sa.select(D.agency_code, rd.label("rd"), fd.label("fd"), sa.func.count())
        .where(where)
        .group_by(D.agency_code, rd, fd)
    )
    whole: dict[str, float] = {}
    counts: dict[str, int] = {}
    cache: dict[tuple[int, int], int] = {}
    for agency, a, b, n in conn.execute(pairs):
        key = (int(a), int(b))
        if key not in cache:
            da, db_ = _day(key[0]), _day(key[1])
            cache[key] = calendar.working_days_between(
                da - timedelta(days=1), db_ - timedelta(days=1)
            )
        whole[agency] = whole.get(agency, 0.0) + cache[key] * n * full
        counts[agency] = counts.get(agency, 0) + int(n)

    def office_sums(column: Any, sign: int) -> None:
        day, second = _local_day(column), _second_of_day(column)
        clamps = [
            sa.func.sum(sa.case((second <= s, 0), (second >= e, e - s), else_=second - s))
            for s, e in intervals
        ]
        stmt = sa.select(D.agency_code, day, *clamps).where(where).group_by(D.agency_code, day)
        for agency, n_day, *sums in conn.execute(stmt):
            if calendar.is_working_day(_day(int(n_day))):
                whole[agency] = whole.get(agency, 0.0) + sign * sum(int(x or 0) for x in sums)

    office_sums(D.finished_at, +1)
    office_sums(D.received_at, -1)
    return {agency: (counts[agency], whole[agency] / full) for agency in counts}


def _secs(t: Any) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _day(n: int) -> date:
    return _EPOCH + timedelta(days=n)


# --------------------------------------------------------------- home page


def province_rates(
    db: Database | Session | Connection, *, period: Period | None = None
) -> dict[str, float | int]:
    """What the public home page shows: the province's satisfaction and on-time
    rates in percent (0–100, two decimals; 0.0 when nothing was resolved) and
    the counts behind them, over the current year by default."""
    total = province_statistics(db, period or year_to_date()).total
    return {
        "satisfaction": round((total.satisfaction_rate or 0.0) * 100, 2),
        "on_time": round((total.on_time_rate or 0.0) * 100, 2),
        "received": total.received,
        "resolved": total.resolved,
    }


def _not_waiting_for_citizen(period: Period, now: datetime) -> ColumnElement[bool]:
    """The dossier was not waiting for the citizen's supplement at the end of the period
    (its clock stopped then). A period still running asks the current status; a past
    one the timeline, since the dossier may have moved (been withdrawn, supplemented)
    after the period ended: the status its last event before the end left it in."""
    if period.end >= now:
        return D.status != "SUPPLEMENT_REQUESTED"
    earlier = DossierEvent.__table__.alias("earlier")  # type: ignore[attr-defined]
    last_before_end = (
        sa.select(sa.func.max(earlier.c.seq))
        .where(earlier.c.dossier_code == D.code, earlier.c.at < period.end)
        .correlate(Dossier.__table__)  # type: ignore[attr-defined]
        .scalar_subquery()
    )
    waiting = (
        sa.select(EV.seq)
        .where(
            EV.dossier_code == D.code,
            EV.seq == last_before_end,
            EV.to_status == "SUPPLEMENT_REQUESTED",
        )
        .exists()
    )
    # A row without a timeline (imported, or written outside the workflow): its status.
    untracked = sa.and_(last_before_end.is_(None), D.status == "SUPPLEMENT_REQUESTED")
    return ~sa.or_(waiting, untracked)
