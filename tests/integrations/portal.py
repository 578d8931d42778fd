"""A small portal for tests: the callbacks router on a real SQLite read model, a
fake Temporal client recording signals, and the simulators, all served by one
real uvicorn server on loopback (as in development, where the app serves both)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from dichvucong.api.problems import install_problem_handlers
from dichvucong.api.routes.callbacks import router as callbacks_router
from dichvucong.db.engine import Database
from dichvucong.db.migrate import upgrade
from dichvucong.db.models import CitizenAccount, Dossier
from dichvucong.settings import Settings
from dichvucong.simulators import install_simulators
from dichvucong.simulators.serve import ServerThread

CITIZEN_NAME = "Nguyễn Thị Hồng Nhung"


@dataclass
class FakeTemporal:
    """Stands in for temporalio.client.Client: records signals."""

    signals: list[tuple[str, str, Any]] = field(default_factory=list)
    # How long a signal takes to be accepted (a loaded Temporal frontend).
    signal_seconds: float = 0.0

    def get_workflow_handle(self, workflow_id: str) -> _Handle:
        return _Handle(self, workflow_id)

    def named(self, name: str) -> list[tuple[str, Any]]:
        return [(wid, arg) for wid, n, arg in self.signals if n == name]


@dataclass
class _Handle:
    owner: FakeTemporal
    id: str

    async def signal(self, name: str, arg: Any) -> None:
        if self.owner.signal_seconds:
            await asyncio.sleep(self.owner.signal_seconds)
        self.owner.signals.append((self.id, name, arg))


class Portal:
    def __init__(self, tmp: Path, port: int) -> None:
        url = f"sqlite:///{tmp / 'read.db'}"
        upgrade(url)
        self.settings = Settings(var_dir=tmp, database_url=url, environment="test",
                                 public_base_url=f"http://127.0.0.1:{port}")
        self.db = Database(url)
        self.temporal = FakeTemporal()
        app = FastAPI()
        app.state.settings = self.settings
        app.state.db = self.db
        app.state.temporal = self.temporal
        install_problem_handlers(app)
        app.include_router(callbacks_router, prefix="/api/v1")
        install_simulators(app, self.settings)
        self.app = app
        self.payments = app.state.payment_simulator
        self.postal = app.state.postal_simulator
        self.server = ServerThread(app, port=port)
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> Portal:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.db.dispose()

    def add_citizen(self, **kwargs: Any) -> int:
        return add_citizen(self.db, **kwargs)

    def add_dossier(self, code: str, *, fee: int = 150_000, status: str = "AWAITING_PAYMENT",
                    payment_status: str = "pending", applicant_id: int | None = None) -> Dossier:
        with self.db.session() as session:
            dossier = Dossier(code=code, procedure_code="1.001", agency_code="DN-TP",
                              applicant_id=applicant_id, applicant_name=CITIZEN_NAME,
                              status=status, fee_amount=fee, payment_status=payment_status,
                              delivery="postal")
            session.add(dossier)
            session.commit()
            return dossier

    def set_payment_status(self, code: str, payment_status: str) -> None:
        with self.db.session() as session:
            dossier = session.get(Dossier, code)
            assert dossier is not None
            dossier.payment_status = payment_status
            session.add(dossier)
            session.commit()


def add_citizen(db: Database, *, email: str | None = "nhung@example.vn",
                phone: str = "0912345678", id_number: str = "075190000123") -> int:
    with db.session() as session:
        citizen = CitizenAccount(full_name=CITIZEN_NAME, id_number=id_number,
                                 date_of_birth=date(1990, 5, 17), phone=phone, email=email,
                                 address="12 Đường Võ Thị Sáu, Biên Hòa, Đồng Nai",
                                 password_hash="x")
        session.add(citizen)
        session.commit()
        assert citizen.id is not None
        return citizen.id
