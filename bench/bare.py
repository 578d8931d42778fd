"""The bare engine's side of figures 1 and 2: a workflow with the same number of
activities (regular and local), updates and signals as a dossier case, doing nothing
else."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
def noop(_: int) -> int:
    return 0


@workflow.defn(name="BenchBareCase")
class BareCase:
    """Each step (the start, each update, the signal) runs ``regular`` activities and
    ``local`` local activities at once, like a transition's record + notice (+ sync)."""

    def __init__(self) -> None:
        self.done = 0

    @workflow.run
    async def run(self, first: list[int], steps: int) -> int:
        await self._step(first)
        await workflow.wait_condition(lambda: self.done >= steps)
        return self.done

    async def _step(self, shape: list[int]) -> None:
        regular, local = shape
        timeout = timedelta(seconds=30)
        await asyncio.gather(
            *(
                workflow.execute_activity("bench_noop", 0, start_to_close_timeout=timeout)
                for _ in range(regular)
            ),
            *(
                workflow.execute_local_activity("bench_noop", 0, start_to_close_timeout=timeout)
                for _ in range(local)
            ),
        )

    @workflow.update
    async def act(self, shape: list[int]) -> int:
        await self._step(shape)
        self.done += 1
        return self.done

    @workflow.signal
    async def paid(self, shape: list[int]) -> None:
        await self._step(shape)
        self.done += 1


def spread(total: int, parts: int) -> list[int]:
    """``total`` activities over ``parts`` steps, the remainder on the first ones."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]
