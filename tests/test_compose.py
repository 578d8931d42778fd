"""docker-compose.yml cannot run here (no Docker engine): check what can drift from the code."""

from __future__ import annotations

import base64
import os
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml

from dichvucong.search_attributes import CLI_TYPES
from dichvucong.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SEARCH_ATTRIBUTE_CREATE = re.compile(
    r"temporal operator search-attribute create\b.*?--name\s+(\w+)\s+--type\s+(\w+)"
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...]
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def command_text(service: dict[str, Any]) -> str:
    parts = []
    for key in ("entrypoint", "command"):
        value = service.get(key)
        if isinstance(value, list):
            parts.extend(str(v) for v in value)
        elif value:
            parts.append(str(value))
    return "\n".join(parts)


# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}; $$ is a dollar.
INTERPOLATION = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def required_variables(text: str) -> set[str]:
    """The variables `docker compose` refuses to start without (``${VAR:?…}``)."""
    return {
        m.group(1)
        for m in INTERPOLATION.finditer(text)
        if m.group(1) and m.group(2) in (":?", "?")
    }


def operator_value(name: str) -> str:
    """What an operator sets for a required variable (the README's start command)."""
    if name == "DVC_CODEC_KEYS":
        return "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()
    if name.endswith("_URL"):  # the third parties' addresses
        return f"https://{name.lower()}.example/api"
    return secrets.token_hex(32)


def interpolate(value: str, variables: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        if name is None:
            return "$"
        if name in variables and (variables[name] or operator not in (":-", ":?")):
            return variables[name]
        if operator in (":-", "-"):
            return argument
        if operator in (":?", "?"):
            raise AssertionError(f"docker compose refuses to start without {name}: {argument}")
        return ""

    return INTERPOLATION.sub(replace, value)


def test_every_image_is_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service.get("image")
        assert image or service.get("build"), f"{name}: neither image nor build"
        if not image:
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: image {image!r} is not pinned"
        assert re.search(r"\d", tag), f"{name}: tag of {image!r} names no version"


def test_every_dvc_variable_is_a_setting(compose: dict[str, Any]) -> None:
    fields = {f"DVC_{name.upper()}" for name in Settings.model_fields}
    used: set[str] = set()
    for name, service in compose["services"].items():
        for key in environment(service):
            if key.startswith("DVC_"):
                assert key in fields, f"{name}: {key} is not a field of dichvucong.settings"
                used.add(key)
    # The app services really are configured through settings.
    assert {"DVC_TEMPORAL_ADDRESS", "DVC_DATABASE_URL", "DVC_SECRET_KEY"} <= used


def test_app_services_use_postgresql_and_the_temporal_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("worker", "api"):
        env = environment(services[name])
        assert env["DVC_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["DVC_TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["DVC_ENVIRONMENT"] == "production"
        assert services[name]["deploy"]["replicas"] >= 2


def test_setup_job_creates_exactly_our_search_attributes(compose: dict[str, Any]) -> None:
    created: dict[str, str] = {}
    for service in compose["services"].values():
        for attr, type_ in SEARCH_ATTRIBUTE_CREATE.findall(command_text(service)):
            assert attr not in created, f"{attr} created twice"
            created[attr] = type_
    assert created == CLI_TYPES


def test_setup_job_uses_the_namespace_the_apps_use(compose: dict[str, Any]) -> None:
    services = compose["services"]
    setup = next(s for s in services.values() if SEARCH_ATTRIBUTE_CREATE.search(command_text(s)))
    namespace = environment(services["worker"])["DVC_TEMPORAL_NAMESPACE"]
    assert environment(setup)["NAMESPACE"] == namespace
    assert environment(services["api"])["DVC_TEMPORAL_NAMESPACE"] == namespace


def test_the_api_believes_forwarded_addresses_from_the_proxy_only(compose: dict[str, Any]) -> None:
    """Behind nginx every request comes from the proxy's container: unless the API trusts
    exactly that address, every citizen shares one rate-limit bucket (or, trusting all,
    anyone can pick their own address with a header)."""
    import ipaddress

    trusted = environment(compose["services"]["api"])["DVC_TRUSTED_PROXIES"]
    proxy_address = compose["services"]["proxy"]["networks"]["default"]["ipv4_address"]
    assert trusted == proxy_address
    [pool] = compose["networks"]["default"]["ipam"]["config"]
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(pool["subnet"])
    # nginx appends the peer it saw; uvicorn takes the rightmost untrusted address.
    nginx = compose["configs"]["nginx-conf"]["content"]
    assert "proxy_set_header X-Forwarded-For $$proxy_add_x_forwarded_for;" in nginx


def _probe_url(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    found = re.search(r"http://127\.0\.0\.1:\d+/\w+", " ".join(test))
    assert found, f"healthcheck {test} probes no local URL"
    return found.group(0)


def test_the_api_replicas_are_probed_for_readiness(compose: dict[str, Any], tmp_path: Path) -> None:
    from dichvucong.api.routes.health import CHECK_SECONDS
    from dichvucong.app import create_app

    services = compose["services"]
    api = services["api"]
    url = _probe_url(api)
    assert url == f"http://127.0.0.1:{environment(api)['DVC_HTTP_PORT']}/readyz"
    assert create_app(Settings(var_dir=tmp_path)).url_path_for("readyz") == "/readyz"
    # nginx sends citizens only to replicas that are ready, and keeps the probes inside.
    assert _seconds(api["healthcheck"]["timeout"]) > CHECK_SECONDS  # each check is bounded
    assert services["proxy"]["depends_on"]["api"]["condition"] == "service_healthy"
    nginx = compose["configs"]["nginx-conf"]["content"]
    assert "location = /readyz { return 404; }" in nginx


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, f"write {duration!r} in seconds"
    return float(match.group(1))


def test_workers_serve_metrics_and_get_time_to_stop_gracefully(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    env = environment(worker)
    settings = Settings(
        worker_metrics_address=env["DVC_WORKER_METRICS_ADDRESS"],
        worker_graceful_shutdown_seconds=float(env["DVC_WORKER_GRACEFUL_SHUTDOWN_SECONDS"]),
    )
    assert settings.worker_metrics_address is not None
    port = settings.worker_metrics_address.rpartition(":")[2]
    assert _probe_url(worker) == f"http://127.0.0.1:{port}/metrics"
    # SIGKILL only after the worker's own grace: running activities finish and report.
    grace = settings.worker_graceful_shutdown_seconds
    assert _seconds(worker["stop_grace_period"]) > grace >= 10


def test_the_app_services_start_in_production(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each DVC service's environment, with the secrets the operator sets, is a valid
    production configuration: a placeholder secret (one the file leaves unset) would stop
    every app container at its first import of the settings."""
    from dichvucong.security.codec import keys_from_settings

    text = COMPOSE_FILE.read_text(encoding="utf-8")
    operator = {name: operator_value(name) for name in required_variables(text)}
    checked = []
    for name, service in compose["services"].items():
        env = environment(service)
        if not any(key.startswith("DVC_") for key in env):
            continue
        for key in list(os.environ):
            if key.startswith("DVC_"):
                monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, interpolate(value, operator))
        try:
            settings = Settings(_env_file=None)  # type: ignore[call-arg]
        except ValueError as exc:
            pytest.fail(f"{name}: the settings refuse this environment: {exc}")
        assert settings.environment == "production", name
        assert keys_from_settings(settings), name  # DVC_CODEC_KEYS parses (32-byte keys)
        checked.append(name)
    assert {"dichvucong-migrate", "worker", "api"} <= set(checked)


def test_the_start_commands_set_every_required_variable() -> None:
    """The README's start command and the one in the file's header set every variable
    the file requires (``${VAR:?…}``), so they start as written."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    required = required_variables(text)
    secrets_of_the_apps = {
        "DVC_SECRET_KEY", "DVC_CODEC_KEYS", "DVC_PAYMENT_SECRET", "DVC_POSTAL_SECRET",
        "DVC_PAYMENT_GATEWAY_URL", "DVC_POSTAL_API_URL",
    }
    assert secrets_of_the_apps <= required
    header = "\n".join(line.lstrip("#") for line in text.splitlines() if line.startswith("#"))
    header_start = re.search(r"Start:(.*?)docker compose up", header, re.S)
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    readme_start = re.search(r"`([^`]*docker compose up[^`]*)`", readme)
    assert header_start and readme_start
    for where, command in (("header", header_start.group(1)), ("README", readme_start.group(1))):
        set_there = set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", command))
        assert required <= set_there, f"{where}: the start command misses {required - set_there}"
