"""Delivery acknowledgements: tell an input when the events it pushed are safe.

Inputs reading from a broker (Kafka, Redis lists) may only commit their read
position once the events cannot be lost any more:

* with a persisted queue, as soon as the queue accepted them (they are on disk);
* with the memory queue, only once a worker has run them through the filters
  and the outputs (``Queue.ack`` of the batch holding them).

``push(events, on_delivered=callback)`` registers the events here *before* they
enter the queue; the workers call :meth:`DeliveryTracker.settle` with every
batch they finish. ``callback`` runs once, after the last of its events is
settled, on a worker thread (or on the pushing thread for a durable queue):
it must be quick and thread-safe. An event a filter drops, or an output rejects
after retries (logged), counts as settled: it was handled, visibly.
Events from untracked pushes cost one length check per batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from pipeline.event import Event

Callback = Callable[[], None]


class _Pending:
    __slots__ = ("callback", "remaining")

    def __init__(self, remaining: int, callback: Callback) -> None:
        self.remaining = remaining
        self.callback = callback


class DeliveryTracker:
    """Counts, per tracked push, the events not yet settled by the workers."""

    def __init__(self, durable: bool = False) -> None:
        #: True when the queue itself keeps accepted events safe (persisted queue)
        self.durable = durable
        self._lock = threading.Lock()
        # id(event) -> (event, pending): the event is kept so its id cannot be reused meanwhile
        self._by_event: dict[int, tuple[Event, _Pending]] = {}

    def __len__(self) -> int:
        return len(self._by_event)

    def track(self, events: list[Event], callback: Callback) -> Any:
        """Before the events enter the queue: remember them; returns a token for :meth:`accepted`."""
        if self.durable or not events:
            return callback
        pending = _Pending(len(events), callback)
        with self._lock:
            for event in events:
                self._by_event[id(event)] = (event, pending)
        return None

    def accepted(self, token: Any) -> None:
        """The queue accepted the events: a durable queue's callback fires now."""
        if token is not None:
            _fire(token)

    def abandon(self, events: Iterable[Event]) -> None:
        """The queue refused the events (stopping): forget them; the callback never fires."""
        with self._lock:
            for event in events:
                self._by_event.pop(id(event), None)

    def settle(self, batch: list[Event]) -> None:
        """A worker finished this batch (filters and outputs done)."""
        if not self._by_event:
            return
        done: list[Callback] = []
        with self._lock:
            pop = self._by_event.pop
            for event in batch:
                entry = pop(id(event), None)
                if entry is None:
                    continue
                pending = entry[1]
                pending.remaining -= 1
                if pending.remaining == 0:
                    done.append(pending.callback)
        for callback in done:
            _fire(callback)


def _fire(callback: Callback) -> None:
    try:
        callback()
    except Exception:
        import logging

        logging.getLogger("pipeline.queue").exception("delivery callback failed")
