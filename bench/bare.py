"""The bare engine's side of figures 1 and 2: a workflow with the same number of
activities, updates and signals as a dossier case, doing nothing else."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
def noop(_: int) -> int:
    return 0


@workflow.defn(name="BenchBareCase", sandboxed=False)
class BareCase:
    """Per step (the start, each update, the signal) ``per_step`` activities at once,
    like a transition's record + notify (+ national sync)."""

    def __init__(self) -> None:
        self.done = 0

    @workflow.run
    async def run(self, per_step: int, steps: int) -> int:
        await self._step(per_step)
        await workflow.wait_condition(lambda: self.done >= steps)
        return self.done

    async def _step(self, n: int) -> None:
        await asyncio.gather(
            *(
                workflow.execute_activity(
                    "bench_noop", 0, start_to_close_timeout=timedelta(seconds=30)
                )
                for _ in range(n)
            )
        )

    @workflow.update
    async def act(self, per_step: int) -> int:
        await self._step(per_step)
        self.done += 1
        return self.done

    @workflow.signal
    async def paid(self, per_step: int) -> None:
        await self._step(per_step)
        self.done += 1
