"""The web app on a real SQLite read model and a real (time-skipping) Temporal
server with the worker running, called over ASGI with httpx."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from dichvucong.accounts.officials import create_official
from dichvucong.app import create_app
from dichvucong.calendar import WorkCalendar
from dichvucong.db.engine import Database
from dichvucong.seed import seed
from dichvucong.settings import Settings
from tests.workflows.harness import (
    Harness,
    OutsideWorld,
    register_search_attributes,
    time_skipping_server_path,
)

PASSWORD = "mat-khau-2026"
STP = "000.00.12.H19"  # Sở Tư pháp: criminal record certificates
COMMUNE = "000.21.21.H19"

# The smallest PDF and JPEG that content sniffing accepts.
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32 + b"\xff\xd9"

LLTP_FORM = {
    "ho_ten": "Nguyễn Văn An",
    "gioi_tinh": "nam",
    "ngay_sinh": "2003-05-17",
    "noi_sinh": "Biên Hòa, Đồng Nai",
    "quoc_tich": "Việt Nam",
    "so_dinh_danh": "075203001234",
    "noi_thuong_tru": "12 Võ Thị Sáu, Biên Hòa",
    "so_dien_thoai": "0912345678",
    "loai_phieu": "1",
    "muc_dich": "Xin việc",
    "so_ban": 2,
    "doi_tuong_phi": "khong",
    "cam_doan": True,
}


@dataclass
class Portal:
    http: httpx.AsyncClient
    app: FastAPI
    settings: Settings
    db: Database
    env: WorkflowEnvironment
    world: OutsideWorld

    async def register(
        self,
        *,
        id_number: str = "075203001234",
        phone: str = "0912345678",
        email: str | None = None,
        full_name: str = "Nguyễn Văn An",
        dob: str = "2003-05-17",
    ) -> dict[str, Any]:
        response = await self.http.post(
            "/api/v1/accounts",
            json={
                "full_name": full_name,
                "id_number": id_number,
                "date_of_birth": dob,
                "phone": phone,
                "email": email,
                "address": "12 Võ Thị Sáu, Biên Hòa",
                "password": PASSWORD,
            },
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        response = await self.http.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def official(self, username: str, agency: str, *roles: str) -> str:
        with self.db.session() as session:
            create_official(
                session=session,
                username=username,
                password=PASSWORD,
                agency_code=agency,
                roles=list(roles),
            )
        return username

    async def submit(
        self,
        headers: dict[str, str],
        *,
        procedure: str = "ly-lich-tu-phap",
        agency: str = STP,
        form: dict[str, Any] | None = None,
        files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
        delivery: str = "online",
        key: str | None = None,
        address: str | None = None,
    ) -> httpx.Response:
        data = {
            "procedure_code": procedure,
            "agency_code": agency,
            "delivery": delivery,
            "form": json.dumps(form if form is not None else LLTP_FORM),
        }
        if address:
            data["delivery_address"] = address
        if files is None:
            files = [("giay_to_tuy_than", ("cccd.pdf", PDF_BYTES, "application/pdf"))]
        extra = {"Idempotency-Key": key} if key else {}
        return await self.http.post(
            "/api/v1/dossiers", data=data, files=files, headers={**headers, **extra}
        )

    async def settled(self, code: str, seq: int = 0) -> None:
        """Wait (bounded) until the worker has recorded transition ``seq`` of ``code``."""
        from dichvucong.db.models import Dossier

        for _ in range(200):
            with self.db.session() as session:
                row = session.get(Dossier, code)
                if row is not None and row.last_seq >= seq:
                    return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{code} never reached transition {seq}")

    async def act(
        self,
        headers: dict[str, str],
        code: str,
        action: str,
        body: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        extra = {"Idempotency-Key": key} if key else {}
        return await self.http.post(
            f"/api/v1/dossiers/{code}/actions/{action}",
            json=body or {},
            headers={**headers, **extra},
        )


@asynccontextmanager
async def portal(
    tmp_path: Path,
    database_url: str | None = None,
    *,
    extra_activities: Callable[[Database], list[Callable[..., Any]]] | None = None,
    **settings_overrides: Any,
) -> AsyncIterator[Portal]:
    """``database_url``: run the read model there (tests/pg passes a PostgreSQL URL);
    ``extra_activities``: more activities for the worker, made from the read model's
    database (the feedback workflow's); ``settings_overrides``: more ``Settings`` fields
    (``document_store="s3"``...)."""
    settings = Settings(
        **{
            "database_url": database_url,
            "var_dir": tmp_path,
            "environment": "test",
            "secret_key": "test-secret-0123456789",
            "public_base_url": "http://portal.test",
            "task_queue": f"tq-{uuid.uuid4()}",
            **settings_overrides,
        }
    )
    seed(settings)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server_path()
    )
    db = Database(settings.resolved_database_url)
    try:
        await register_search_attributes(env.client)
        world = OutsideWorld()
        harness = Harness(
            env=env,
            db=db,
            world=world,
            task_queue=settings.task_queue,
            calendar=WorkCalendar(),
        )
        app = create_app(settings, temporal=env.client)
        transport = httpx.ASGITransport(app=app)
        activities = [*harness.activities(), *(extra_activities or (lambda _: []))(db)]
        async with (
            harness.worker(activities),
            httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http,
        ):
            yield Portal(http=http, app=app, settings=settings, db=db, env=env, world=world)
    finally:
        await env.shutdown()
        db.dispose()
