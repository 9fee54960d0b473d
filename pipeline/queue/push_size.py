"""How many events one push into a queue may hold: one rule for every queue and every input.

A push larger than the room a queue can ever have beside other events is accepted only once the queue is
empty, so the input and the workers take turns instead of overlapping (the file input, one worker, a
500-event queue: 128 KiB reads pushed as 500 + 53 lines cost +40 % CPU per event). A push is therefore at
most half the queue's event capacity. A queue bounded by bytes only (persisted, ``queue.max_events: 0``,
its default) sets no limit in events: an input pushes what it has, capped by its own batch size.
"""

from __future__ import annotations

import sys

UNBOUNDED = sys.maxsize  # the limit of a queue bounded by bytes only


def push_limit_for(capacity: int) -> int:
    """The largest push into a queue of ``capacity`` events (0 or less: bounded by bytes only)."""
    return max(1, capacity // 2) if capacity > 0 else UNBOUNDED


def push_slices(count: int, limit: int) -> list[tuple[int, int]]:
    """(start, stop) of the pushes of ``count`` events, each at most ``limit``, as even as possible, so no
    tiny tail push wakes a worker for a handful of events (553 by 250: 185, 185, 183)."""
    if count <= 0:
        return []
    largest = max(1, min(limit, count))
    pushes = -(-count // largest)
    size = -(-count // pushes)
    return [(start, min(start + size, count)) for start in range(0, count, size)]


class EventCapacityPushLimit:
    """``push_limit()`` for a queue whose ``capacity`` is its limit in events (0: bounded by bytes only)."""

    capacity: int

    def push_limit(self) -> int:
        """The most events one push should hold: half the capacity."""
        return push_limit_for(self.capacity)
