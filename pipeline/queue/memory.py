"""A bounded in-memory queue with backpressure, shared by asyncio and threads."""

from __future__ import annotations

import asyncio
import collections
import threading
import time

from pipeline.errors import QueueClosedError
from pipeline.event import Event
from pipeline.queue._waiters import Waiters
from pipeline.queue.push_size import EventCapacityPushLimit
from pipeline.queue.weight import push_weight


class MemoryQueue(EventCapacityPushLimit):
    """Bounded by event count. A batch larger than the capacity is accepted
    when the queue is empty, so a big beats window can never deadlock.

    An item may stand for several events (a RawBatch, pushed alone: pipeline/queue/weight.py); the queue
    counts events, and a batch taken holds up to ``size`` events' worth of items (at least one item)."""

    drain = True  # closed, it still hands the workers every event it holds: nothing else would keep them

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = max(1, capacity)
        self._items: collections.deque[Event] = collections.deque()
        self._held = 0  # events the items stand for (more than len(_items) while a RawBatch is in)
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        # Producers (threads and event-loop tasks) blocked for room: a taken batch wakes only those whose
        # whole push now fits, not all of them after every batch (each needless wake-up costs a GIL
        # hand-off and two context switches).
        self._waiters = Waiters(self._lock, self._not_empty)
        self._closed = False
        self.accepted = 0

    def __len__(self) -> int:
        return self._held

    @property
    def closed(self) -> bool:
        return self._closed

    def _fits(self, count: int) -> bool:
        size = self._held
        return size == 0 or size + count <= self.capacity

    def _append(self, events: list[Event], weight: int) -> None:
        self._items.extend(events)
        self._held += weight
        self.accepted += weight
        self._not_empty.notify()

    def try_put(self, events: list[Event]) -> bool:
        weight = push_weight(events)
        with self._lock:
            if self._closed:
                raise QueueClosedError("queue is closed")
            if not self._fits(weight):
                return False
            self._append(events, weight)
            return True

    async def put(self, events: list[Event]) -> None:
        loop = asyncio.get_running_loop()
        weight = push_weight(events)
        while True:
            with self._lock:
                if self._closed:
                    raise QueueClosedError("queue is closed")
                if self._fits(weight):
                    self._append(events, weight)
                    return
                waiter = self._waiters.add(loop, weight)
            await self._waiters.sleep(waiter)

    def put_blocking(self, events: list[Event], timeout: float | None = None,
                     stopping: threading.Event | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        weight = push_weight(events)
        with self._lock:
            while True:
                if self._closed:
                    raise QueueClosedError("queue is closed")
                if self._fits(weight):
                    self._append(events, weight)
                    return True
                if stopping is not None and stopping.is_set() and timeout is not None:
                    return False
                remaining = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
                if remaining <= 0:
                    return False
                self._waiters.wait(weight, remaining)

    def get_batch(self, size: int, delay: float) -> list[Event] | None:
        deadline = time.monotonic() + delay
        with self._not_empty:
            while not self._items:
                if self._closed:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._not_empty.wait(remaining)
            # Wait briefly for a fuller batch, as Logstash's batch delay does, unless a producer waits for
            # room: its push cannot come in before this batch leaves, so waiting would only stall both.
            while self._held < size and not self._closed and not self._waiters:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._not_empty.wait(remaining)
            if self._held != len(self._items):
                batch = self._take_weighed(size)
            else:
                count = min(size, len(self._items))
                batch = [self._items.popleft() for _ in range(count)]
                self._held -= count
            self._waiters.wake(self._fits)
            if self._items:
                self._not_empty.notify()
            return batch

    def _take_weighed(self, size: int) -> list[Event]:
        """Items up to ``size`` events' worth, some standing for several events. An item that would
        overflow the batch is split when it can be (a block of file lines: ``RawBatch.split``), so a batch
        holds ``size`` events and the worker runs it as whole batches of ``pipeline.batch.size`` (a block
        of 150 lines after 300 would otherwise end a 500-event transfer at 450: four batches of ~112);
        else it waits for the next batch (or comes alone, larger than ``size``)."""
        items, taken = self._items, 0
        batch: list[Event] = []
        while items and taken < size:
            item = items[0]
            weight = item.weight
            if taken + weight > size:
                split = getattr(item, "split", None)
                parts = split(size - taken) if split is not None else None
                if parts is not None:
                    batch.append(parts[0])
                    items[0] = parts[1]
                    taken += parts[0].weight
                    break
                if batch:
                    break
            items.popleft()
            taken += weight
            batch.append(item)
        self._held -= taken
        return batch

    def ack(self, batch: list[Event]) -> None:
        """Memory queue: nothing to release."""

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._not_empty.notify_all()
            self._waiters.wake_all()
