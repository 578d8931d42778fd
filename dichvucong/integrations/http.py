"""HTTP clients for every call to the outside world (gateway, postal service, national
portal, and the simulators' callbacks), sharing one TLS context.

httpx builds a new TLS context, loading the whole CA bundle, for every client it
creates: 23 ms of CPU each (measured), paid on every payment, shipment, national sync
and callback when each call makes its own client — a third of the API's CPU in the
figure 2 benchmark. An ``ssl.SSLContext`` is safe to share between threads.
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

import httpx


@cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def client(**options: Any) -> httpx.Client:
    return httpx.Client(verify=tls_context(), **options)


def async_client(**options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=tls_context(), **options)


def post(url: str, *, timeout: float | None = None, **request: Any) -> httpx.Response:
    """``httpx.post`` without a TLS context of its own."""
    with client(timeout=timeout) as http:
        return http.post(url, **request)
