"""How many events queue items stand for: one each, except a :class:`~pipeline.runtime.rawevents.RawBatch`
(several undecoded events, e.g. a block of file lines a worker process splits), which stands for its own
``weight``. Queues count events, not items, so capacity, push limits and metrics mean the same with
either.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from pipeline.event import Event

_WEIGHT = attrgetter("weight")  # a class attribute of Event (1): read in C


def push_weight(events: Sequence[Event]) -> int:
    """Events of one push. An item standing for several is always pushed alone (RawBatch), so only a
    one-item push is looked into: no per-event work on the usual pushes."""
    if len(events) == 1:
        return int(events[0].weight)
    return len(events)


def batch_weight(events: Sequence[Event]) -> int:
    """Events of a batch taken from a queue (which may hold several RawBatches)."""
    return sum(map(_WEIGHT, events))
