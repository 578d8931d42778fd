"""Probes for what runs the API replicas (docker-compose, Kubernetes, a load balancer).

``/healthz`` (liveness) says only that the process answers: when the database or
Temporal is down, restarting every API replica would not bring it back. ``/readyz``
(readiness) says whether this replica can serve a citizen now — the read model, the
document store and Temporal all answer — so that it is taken out of rotation until they
do. The reverse proxy hides both (docker-compose.yml): each readiness probe costs a
query and two round trips, not something to offer the Internet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

from dichvucong.api.deps import get_temporal
from dichvucong.api.problems import problem
from dichvucong.db.engine import Database
from dichvucong.db.migrate import schema_is_behind

router = APIRouter(tags=["health"])
log = logging.getLogger("dichvucong.api.health")

# Each dependency gets this long to answer; an orchestrator's probe timeout is longer.
CHECK_SECONDS = 3.0
NOT_CACHED = {"Cache-Control": "no-store"}
_SCHEMA_REVISION = text("SELECT version_num FROM alembic_version")
NOT_READY_DETAIL = "Hệ thống chưa sẵn sàng phục vụ; vui lòng thử lại sau ít phút."


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=NOT_CACHED)


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    names = ("database", "documents", "temporal")
    outcomes = await asyncio.gather(
        _probe("database", run_in_threadpool(_database_answers, state.db)),
        _probe("documents", run_in_threadpool(state.documents.check)),
        _probe("temporal", _temporal_answers(request)),
    )
    checks = dict(zip(names, outcomes, strict=True))
    if all(outcome == "ok" for outcome in outcomes):
        return JSONResponse({"status": "ready", "checks": checks}, headers=NOT_CACHED)
    response = problem(503, "Chưa sẵn sàng", NOT_READY_DETAIL, "not_ready", checks=checks)
    response.headers.update({**NOT_CACHED, "Retry-After": "5"})
    return response


class NotReady(Exception):
    """A dependency answers but cannot serve yet; ``outcome`` is what the probe says."""

    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome


async def _probe(name: str, answered: Awaitable[object]) -> str:
    """"ok", "timeout", "unavailable" or a ``NotReady`` outcome; the reason goes to the
    log, not to the caller."""
    try:
        await asyncio.wait_for(answered, CHECK_SECONDS)
    except NotReady as exc:
        log.warning("not_ready check=%s reason=%s", name, exc)
        return exc.outcome
    except TimeoutError:
        log.warning("not_ready check=%s reason=timeout after=%.1fs", name, CHECK_SECONDS)
        return "timeout"
    except Exception as exc:  # any failure of a dependency means "not ready", never a 500
        log.warning("not_ready check=%s reason=%s: %s", name, type(exc).__name__, exc)
        return "unavailable"
    return "ok"


def _database_answers(db: Database) -> None:
    """The read model answers and its schema is migrated as far as this code needs (a
    replica started before `dichvucong migrate` would fail every request)."""
    with db.engine.connect() as connection:
        try:
            revision = connection.execute(_SCHEMA_REVISION).scalar()
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise
            connection.rollback()  # PostgreSQL: the failed statement aborted the transaction
            if inspect(connection).has_table("alembic_version"):
                raise
            revision = None
    if schema_is_behind(revision):
        raise NotReady("not_migrated", f"read model schema at {revision or 'nothing'}")


async def _temporal_answers(request: Request) -> None:
    client = await get_temporal(request)
    serving = await client.service_client.check_health(
        timeout=timedelta(seconds=CHECK_SECONDS)
    )
    if not serving:
        raise RuntimeError("the frontend answers but its WorkflowService is not serving")
