"""The long-lived part of a process's heap, out of the cyclic garbage collector's way.

After start-up the API holds ≈ 190,000 tracked objects (FastAPI and pydantic schemas,
SQLAlchemy metadata, the catalog, templates) that live as long as the process. Every
full (generation 2) collection walks all of them: 70–100 ms on this box with nothing
else running, 200 ms and more under load — a pause for every request in flight, seen as
the p99 of ``make bench`` figure 3 in a worker's first seconds. ``gc.freeze()`` moves
them to the permanent generation, which collections skip (the CPython docs recommend it
for long-running servers); what is created later is collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collects what start-up left behind, then freezes the rest; the frozen count."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
