"""How the lines of one read are cut into pushes to the queue.

A push must leave room in the queue: a push as large as the queue's capacity is accepted only once
the queue is empty, so the reader and the workers take turns instead of overlapping (measured with one
worker, capacity 500: a 128 KiB read of ~550 lines went out as 500 + 53 and cost +40 % CPU per event
against 32 KiB reads). Groups are therefore at most half the capacity, and even-sized, so no tiny
tail push wakes a worker for a handful of events.
"""

from __future__ import annotations

MAX_LINES_PER_PUSH = 500


def push_bounds(count: int, capacity: int | None) -> list[tuple[int, int]]:
    """(start, stop) of each push for ``count`` lines into a queue holding ``capacity`` events
    (None or 0: unbounded, as a persisted queue bounded only by bytes)."""
    if count <= 0:
        return []
    largest = MAX_LINES_PER_PUSH if not capacity else max(1, min(MAX_LINES_PER_PUSH, capacity // 2))
    pushes = -(-count // largest)
    size = -(-count // pushes)
    return [(start, min(start + size, count)) for start in range(0, count, size)]
