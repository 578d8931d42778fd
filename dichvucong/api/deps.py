"""Dependencies declared once, used by every router as Annotated aliases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session
from temporalio.client import Client

from dichvucong.calendar import WorkCalendar
from dichvucong.catalog import Catalog
from dichvucong.db.engine import Database
from dichvucong.settings import Settings
from dichvucong.temporal_client import connect


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_database(request: Request) -> Database:
    return request.app.state.db


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.db.session() as session:
        yield session


def get_catalog(request: Request) -> Catalog:
    return request.app.state.catalog


def get_calendar(request: Request) -> WorkCalendar:
    return request.app.state.calendar


_client_lock = asyncio.Lock()


async def get_temporal(request: Request) -> Client:
    state = request.app.state
    if getattr(state, "temporal", None) is None:
        async with _client_lock:
            if getattr(state, "temporal", None) is None:
                state.temporal = await connect(state.settings)
    return state.temporal


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[Session, Depends(get_session)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
CalendarDep = Annotated[WorkCalendar, Depends(get_calendar)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
