"""Routes whose plain ``def`` endpoints make one trip to the thread pool.

FastAPI runs a ``def`` endpoint in the thread pool and then checks its answer against
the response model in a second trip; a database session the endpoint was given still
holds its pooled connection in between. When every thread of the pool waits for a
connection and every connection belongs to a request waiting for a thread, the process
stands still until the pool's 30 s timeout answers 500 (seen: figure 3 of the bench at
200 requests/s on a slow box, every answer after 60 s). ``OneTripRoute`` turns such an
endpoint into a coroutine that runs it in the pool and closes the sessions it was
given before leaving the thread: its answer is checked on the event loop, and no
connection is ever held while waiting for a thread. It is also one trip less.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool


def one_trip(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` (a plain function) as a coroutine FastAPI inspects like the original:
    the same parameters and return type, its own module's annotations resolved."""
    hints = typing.get_type_hints(endpoint, include_extras=True)
    if hints.get("return") is type(None):
        hints["return"] = None  # as FastAPI reads "-> None": no response body
    signature = inspect.signature(endpoint)
    resolved = signature.replace(
        parameters=[
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in signature.parameters.values()
        ],
        return_annotation=hints.get("return", signature.return_annotation),
    )

    def run(kwargs: dict[str, Any]) -> Any:
        try:
            return endpoint(**kwargs)
        finally:
            for value in kwargs.values():
                if isinstance(value, Session):
                    value.close()  # back to the pool before the thread is given back

    @functools.wraps(endpoint)
    async def in_one_trip(**kwargs: Any) -> Any:
        return await run_in_threadpool(run, kwargs)

    del in_one_trip.__wrapped__  # FastAPI reads the resolved signature below, not the original
    in_one_trip.__signature__ = resolved  # type: ignore[attr-defined]
    return in_one_trip


class OneTripRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = one_trip(endpoint)
        super().__init__(path, endpoint, **kwargs)
