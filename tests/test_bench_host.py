"""The bench reports what the shared host kept from the machine during each figure."""

from __future__ import annotations

from bench.run import BoxMeter


def test_steal_and_idle_are_shares_of_all_cpu_time() -> None:
    # user nice system idle iowait irq softirq steal, in jiffies
    assert BoxMeter.shares([50, 0, 10, 20, 5, 0, 0, 15]) == {"steal": 0.15, "idle": 0.25}
    assert BoxMeter.shares([]) is None  # no /proc/stat
    assert BoxMeter.shares([0] * 8) is None


def test_a_window_on_this_machine_reads_proc_stat() -> None:
    box = BoxMeter()
    sum(i * i for i in range(200_000))  # some CPU time passes
    delta = box.delta()
    assert len(delta) == 8 and all(v >= 0 for v in delta)
