"""One place that connects to Temporal, so the API and the worker share options
(data converter, namespace), and starts the workflows whose id is a row's code."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.runtime import Runtime

from dichvucong.security.codec import data_converter
from dichvucong.settings import Settings


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """``runtime``: the worker's, when it serves metrics; the process default otherwise."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        runtime=runtime,
    )


log = logging.getLogger("dichvucong.temporal")


async def start_once(start: Callable[[], Awaitable[object]], workflow_id: str) -> None:
    """Runs ``start`` (a start_workflow under ``workflow_id``, the code of a row the caller
    has just written) and raises only if the workflow surely does not exist.

    Refused as a duplicate: a concurrent retry started it from the same row. Any other
    failure may have reached the server with only the answer lost, and undoing the row
    then would leave a running workflow without it: one more start settles which.
    """
    try:
        await start()
        return
    except WorkflowAlreadyStartedError:
        log.info("workflow_started_by_retry workflow_id=%s", workflow_id)
        return
    except Exception as exc:
        failure = exc
    try:
        await start()  # started now if the first never arrived
    except WorkflowAlreadyStartedError:
        log.warning("workflow_start_answer_lost workflow_id=%s", workflow_id)
    except Exception:
        raise failure from None
