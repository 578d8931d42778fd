"""start_once: raises only when the workflow surely does not exist."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from dichvucong.temporal_client import start_once

LOST = RPCError("deadline exceeded", RPCStatusCode.DEADLINE_EXCEEDED, b"")
DOWN = RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
DUPLICATE = WorkflowAlreadyStartedError("W-1", "DossierWorkflow")


def starts(*outcomes: Exception | None) -> tuple[Callable[[], Awaitable[None]], list[int]]:
    """A start that meets ``outcomes`` in turn (None: the server started it)."""
    calls: list[int] = []

    async def start() -> None:
        calls.append(len(calls))
        outcome = outcomes[len(calls) - 1]
        if outcome is not None:
            raise outcome

    return start, calls


@pytest.mark.parametrize(
    ("outcomes", "attempts"),
    [
        ((None,), 1),  # started
        ((DUPLICATE,), 1),  # a concurrent retry started it
        ((LOST, DUPLICATE), 2),  # the first did start; its answer was lost
        ((DOWN, None), 2),  # the first never arrived; the second started it
    ],
)
async def test_the_workflow_exists_afterwards(
    outcomes: tuple[Exception | None, ...], attempts: int
) -> None:
    start, calls = starts(*outcomes)
    await start_once(start, "W-1")
    assert len(calls) == attempts


async def test_two_failures_raise_the_first() -> None:
    start, calls = starts(DOWN, LOST)
    with pytest.raises(RPCError) as raised:
        await start_once(start, "W-1")
    assert raised.value is DOWN and len(calls) == 2
