"""Synthetic read-model rows, inserted fast (executemany in batches)."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from dichvucong.db.models import Dossier, acting_roles

OPEN_SHARE = 0.05  # share of dossiers still open (in inboxes); the rest are finished
BENCH_AGENCY = "000.00.12.H19"  # Sở Tư pháp: the agency whose inbox is measured
AGENCIES = [BENCH_AGENCY] + [f"000.{i // 10:02d}.{i % 10 + 10}.H19" for i in range(99)]
OPEN_ACTIONS = {"reception": ["accept", "refuse", "request_supplement"], "citizen": ["withdraw"]}


def id_number(i: int) -> str:
    return f"0752{i:08d}"


def rows(count: int, seed: int = 7, year: int | None = None) -> Iterator[dict[str, Any]]:
    """``count`` dossiers over 100 agencies and a year, 5 % open."""
    rnd = random.Random(seed)
    year = year or datetime.now(UTC).year
    start = datetime(year, 1, 2, 1, 0, tzinfo=UTC)
    procedures = ["ly-lich-tu-phap", "dang-ky-khai-sinh", "cap-ban-sao", "dang-ky-ket-hon"]
    for i in range(count):
        submitted = start + timedelta(seconds=rnd.randrange(0, 300 * 86400))
        is_open = rnd.random() < OPEN_SHARE
        received = submitted + timedelta(hours=rnd.randrange(1, 16))
        due = received + timedelta(days=10)
        finished = None if is_open else received + timedelta(hours=rnd.randrange(8, 400))
        yield {
            "code": f"{AGENCIES[i % len(AGENCIES)]}-{submitted:%y%m%d}-B{i:07d}",
            "procedure_code": procedures[i % len(procedures)],
            "agency_code": AGENCIES[i % len(AGENCIES)],
            "applicant_id": None,
            "applicant_id_number": id_number(i),
            "applicant_name": "Nguyễn Văn An",
            "channel": "online",
            "delivery": "online",
            "form_data": {},
            "status": "SUBMITTED" if is_open else "COMPLETED",
            "current_step": "reception" if is_open else None,
            "last_seq": 0 if is_open else 6,
            "submitted_at": submitted,
            "received_at": None if is_open else received,
            "due_at": due,
            "statutory_due_at": due,
            "finished_at": finished,
            "closed_at": finished,
            "overdue": False,
            "was_overdue": bool(finished and finished > due),
            "timeliness": None if is_open else ("late" if finished > due else "on_time"),
            "supplement_count": 0,
            "apology_used": False,
            "fee_amount": 200_000,
            "payment_stage": "on_submission",
            "payment_status": "pending" if is_open else "paid",
            "payment_method": None if is_open else "online",
            "state": (state := _state(is_open, submitted, received, due, finished)),
            "acting_roles": acting_roles(state),
            "updated_at": finished or submitted,
        }


def _state(is_open: bool, submitted: datetime, received: datetime, due: datetime,
           finished: datetime | None) -> dict[str, Any]:  # fmt: skip
    """A state of the size the workflow records (the demo database's: 0.9 KB on average,
    1.6 KB at most): a filter that parses it pays what it would in service."""
    steps = [("reception", "Tiếp nhận hồ sơ", "reception")]
    if not is_open:
        steps += [("tham_dinh", "Thẩm định hồ sơ", "specialist"),
                  ("phe_duyet", "Phê duyệt kết quả", "leader")]  # fmt: skip
    hand_overs = [
        {"step": key, "step_name": name, "role": role,
         "received_at": (submitted if key == "reception" else received).isoformat(),
         "due_at": due.isoformat(), "finished_at": finished and finished.isoformat(),
         "official_id": None if is_open else "cb.tuphap.01", "action": None if is_open else "approve",
         "result": None if is_open else "on_time"}
        for key, name, role in steps
    ]  # fmt: skip
    return {
        "fee_lines": [{"label": "Lệ phí cấp Phiếu lý lịch tư pháp (1 bản)", "amount": 200_000}],
        "hand_overs": hand_overs,
        "due_history": [{"at": (received if not is_open else submitted).isoformat(),
                         "due_at": due.isoformat(), "reason": "received"}],  # fmt: skip
        "pending_items": [],
        "allowed_actions": OPEN_ACTIONS if is_open else {},
        "dispatch_late": False,
        "delivery_address": None,
    }


def insert(
    url: str, count: int, progress: Callable[[int], None] = lambda n: None, batch: int = 20_000
) -> None:
    """SQLAlchemy Core executemany on PostgreSQL; the sqlite3 driver directly on SQLite
    (naive UTC text, as AwareDateTime stores it) — a million rows in about a minute."""
    table = Dossier.__table__  # type: ignore[attr-defined]
    engine = sa.create_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            columns = list(next(rows(1)).keys())
            sql = (
                f"INSERT INTO dossier ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})"
            )
            raw = engine.raw_connection()
            try:
                cur = raw.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=OFF")
                buf: list[tuple[Any, ...]] = []
                for n, row in enumerate(rows(count), 1):
                    buf.append(tuple(_sqlite_value(row[c]) for c in columns))
                    if len(buf) == batch:
                        cur.executemany(sql, buf)
                        raw.commit()
                        buf.clear()
                        progress(n)
                if buf:
                    cur.executemany(sql, buf)
                    raw.commit()
                progress(count)
            finally:
                raw.close()
        else:
            with engine.begin() as conn:
                chunk: list[dict[str, Any]] = []
                for n, row in enumerate(rows(count), 1):
                    chunk.append(row)
                    if len(chunk) == batch:
                        conn.execute(table.insert(), chunk)
                        chunk.clear()
                        progress(n)
                if chunk:
                    conn.execute(table.insert(), chunk)
                progress(count)
            with engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.execute(sa.text("VACUUM ANALYZE dossier"))  # as autovacuum would have
                # The bulk load's dirty pages written now, not by a checkpoint that falls
                # inside a measurement: a database in service is not seconds past a load.
                # Not a superuser (nor pg_checkpoint): the checkpointer does it later.
                with contextlib.suppress(sa.exc.DBAPIError):
                    conn.execute(sa.text("CHECKPOINT"))
    finally:
        engine.dispose()


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dict):
        return json.dumps(value)
    return value
