"""One place that connects to Temporal, so the API and the worker share options
(data converter, namespace)."""

from __future__ import annotations

from temporalio.client import Client

from dichvucong.security.codec import data_converter
from dichvucong.settings import Settings


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
    )
