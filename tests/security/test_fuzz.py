"""Schemathesis over the OpenAPI schema: GET endpoints plus registration, as a
citizen and as an official, a bounded number of examples each: no 5xx, and every
response matches the schema. Operations that need a running Temporal server
(submitting, deciding, feedback) are covered by the portal tests instead."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from dichvucong.accounts.citizens import CitizenCreate, register_citizen
from dichvucong.accounts.officials import create_official
from dichvucong.accounts.tokens import issue_token
from dichvucong.app import create_app
from dichvucong.seed import seed
from dichvucong.settings import Settings

CHECK_FUNCTIONS = [not_a_server_error, response_schema_conformance]
MAX_EXAMPLES = 10
# Endpoints that start or message workflows, or simulate outside systems.
NEEDS_TEMPORAL = r"^/api/v1/(dossiers/\{code\}/(actions|supplement|withdraw|payment)|feedback/)"


@pytest.fixture(scope="module")
def portal_app(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    config = Settings(
        var_dir=tmp,
        environment="test",
        secret_key="test-secret-0123456789",
        rate_limit_enabled=False,
    )
    seed(config)
    app = create_app(config, temporal=object())
    with app.state.db.session() as session:
        citizen = register_citizen(
            session=session,
            data=CitizenCreate(
                full_name="Nguyễn Văn An",
                id_number="075203001234",
                date_of_birth=date(2003, 5, 17),
                phone="0912345678",
                address="12 Võ Thị Sáu, Biên Hòa",
                password="mat-khau-2026",
            ),
        )
        official = create_official(
            session=session,
            username="giamsat",
            password="mat-khau-2026",
            agency_code="000.00.12.H19",
            roles=["supervisor", "leader"],
        )
    tokens = {
        kind: issue_token(config.secret_key, subject, ttl_seconds=3600)
        for kind, subject in (
            ("citizen", f"citizen:{citizen.id}"),
            ("official", f"official:{official.id}"),
        )
    }
    return {"app": app, "tokens": tokens}


def operations(app: Any, *, method: str, path_regex: str) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    found = [result.ok() for result in schema.get_all_operations()]
    return [
        op
        for op in found
        if op.method.upper() == method
        and re.search(path_regex, op.path)
        and not re.search(NEEDS_TEMPORAL, op.path)
    ]


def fuzz(operation: Any, headers: dict[str, str]) -> None:
    """Hypothesis-generated cases of one operation (no pytest plugin involved)."""

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECK_FUNCTIONS)

    run()


@pytest.mark.parametrize("who", ["citizen", "official"])
def test_get_endpoints(portal_app: dict[str, Any], who: str) -> None:
    headers = {"Authorization": f"Bearer {portal_app['tokens'][who]}"}
    selected = operations(portal_app["app"], method="GET", path_regex=r"^/api/v1/")
    assert len(selected) >= 10
    for operation in selected:
        fuzz(operation, headers)


def test_registration(portal_app: dict[str, Any]) -> None:
    selected = operations(portal_app["app"], method="POST", path_regex=r"^/api/v1/accounts$")
    assert len(selected) == 1
    for operation in selected:
        fuzz(operation, {})
