"""Finishing submissions whose API process died between the dossier row and the
workflow start (run by the nightly document sweep, before files are swept)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity

from dichvucong.catalog import load_catalog
from dichvucong.db.engine import Database
from dichvucong.dossiers.submission import reconcile_unstarted
from dichvucong.settings import Settings

# A submission younger than this may still be in flight in an API process.
IN_FLIGHT = timedelta(minutes=10)


class ReconcileActivities:
    def __init__(self, settings: Settings, db: Database) -> None:
        self._settings = settings
        self._db = db

    @activity.defn(name="reconcile_unstarted_dossiers")
    async def reconcile_unstarted_dossiers(self) -> list[str]:
        return await reconcile_unstarted(
            client=activity.client(),
            settings=self._settings,
            catalog=await asyncio.to_thread(load_catalog),  # not on the worker's event loop
            db=self._db,
            older_than=IN_FLIGHT,
        )
