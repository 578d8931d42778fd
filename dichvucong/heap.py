"""The long-lived part of a process's heap, out of the cyclic garbage collector's way.

After start-up the API holds ≈ 177,000 tracked objects (FastAPI and pydantic schemas,
SQLAlchemy metadata, the catalog, templates) that live as long as the process. Every
full (generation 2) collection walks all of them: 106–119 ms on this box with nothing
else running, 170–260 ms under load — a pause for every request in flight, seen in the
API workers' first seconds of ``make bench`` figure 3. ``gc.freeze()`` moves
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
