"""Run a finite input into a small real MemoryQueue drained by a worker thread, recording each push's size:
what an input must keep within the queue's push limit (pipeline/queue/push_size.py)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from pipeline.event import Event
from pipeline.inputs.base import InputContext
from pipeline.queue.memory import MemoryQueue


class RecordingQueue(MemoryQueue):
    """A MemoryQueue that notes the size of every push, from the event loop or from a thread."""

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity)
        self.push_sizes: list[int] = []

    async def put(self, events: list[Event]) -> None:
        self.push_sizes.append(len(events))
        await super().put(events)

    def put_blocking(self, events: list[Event], timeout: float | None = None,
                     stopping: threading.Event | None = None) -> bool:
        self.push_sizes.append(len(events))
        return super().put_blocking(events, timeout, stopping)


def run_into_small_queue(plugin: Any, capacity: int, until: int | None = None,
                         timeout: float = 60) -> tuple[list[int], list[Event]]:
    """Run ``plugin`` (registered here) into a queue of ``capacity`` events until it ends (a finite input)
    or, with ``until``, until the worker took that many events; returns the size of each push and every
    event taken, in order."""
    queue = RecordingQueue(capacity)
    taken: list[Event] = []
    stopping = threading.Event()

    def work() -> None:
        while (batch := queue.get_batch(125, 0.01)) is not None:
            taken.extend(batch)
            if until is not None and len(taken) >= until:
                stopping.set()

    async def main() -> None:
        ctx = InputContext(queue, plugin.decorator, stopping, asyncio.get_running_loop())
        await asyncio.wait_for(plugin.run(ctx), timeout)

    plugin.register()
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        asyncio.run(main())
    finally:
        queue.close()
        worker.join(timeout)
    return queue.push_sizes, taken
