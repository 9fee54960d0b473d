"""The queue protocol between inputs (producers) and workers (consumers).

Inputs put batches (async from the event loop, or blocking from a thread);
``put`` returns only when the queue has accepted the events, which is when an
input may acknowledge them. Workers take batches of up to ``size`` events,
waiting at most ``delay`` seconds for a batch to fill. A disk-backed queue
implements the same methods, so no plugin changes when it replaces memory.
"""

from __future__ import annotations

import threading
from typing import Protocol

from pipeline.event import Event


class Queue(Protocol):
    capacity: int
    accepted: int  # events accepted since the queue was opened
    drain: bool  # close() hands every event left to the workers (else they stay for the next start)

    async def put(self, events: list[Event]) -> None:
        """Accept events, waiting (without blocking the loop) while full."""

    def put_blocking(self, events: list[Event], timeout: float | None = None,
                     stopping: threading.Event | None = None) -> bool:
        """Accept events from a thread; False if not accepted before timeout or stop."""

    def push_limit(self) -> int:
        """The most events one push should hold, so it fits beside other events (see push_size.py)."""

    def get_batch(self, size: int, delay: float) -> list[Event] | None:
        """Up to ``size`` events; ``[]`` after ``delay`` with nothing; None once closed and empty."""

    def ack(self, batch: list[Event]) -> None:
        """A worker finished this batch (the list get_batch returned); a persisted queue may now
        drop it from disk. Batches may be acknowledged out of order by different workers."""

    def close(self) -> None:
        """No more puts; get_batch drains what is left, then returns None."""

    def __len__(self) -> int: ...
