"""Raw events: what an input read, not yet decoded, so worker processes decode it and not the main process.

With ``pipeline.worker_type: process`` the main process would otherwise build
every event (a dict, a Timestamp) only to pickle it to a worker and let the
worker unpickle it again: ~10 µs per event on one core, for nothing. Inputs
that can (the file input's plain lines, the beats input's JSON payloads) push
:class:`RawEvent` instead when ``InputContext.defer_decoding`` is set: the
bytes they read plus a small picklable *source* that knows how to turn them
into an :class:`~pipeline.event.Event` (field names, peer address, the input's
``type``/``tags``/``add_field``). The main process only moves bytes; a batch
crosses the pipe as its runs of one source plus the list of raw payloads: pickle sends
each distinct source once per batch, and a source may decode a whole run at
once (``decode_many``).

A RawEvent is an Event: anything in the main process that reads it (a log
line about a rejected batch, a persisted queue) decodes it on first touch, so
nothing breaks when one is handled like any other event.

A source's ``decode`` must never raise: bad bytes become an event tagged with
the failure and carrying the raw text, so nothing is lost silently.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import attrgetter
from typing import Any, Protocol

from pipeline.decorate import decorate_input
from pipeline.event import Event
from pipeline.logs import RateLimitedLogger

DECODE_FAILURE_TAG = "_rawdecodefailure"
_limited = RateLimitedLogger(logging.getLogger("pipeline.runtime"))


class RawSource(Protocol):
    """Turns one raw payload into one event (in a worker process). Picklable, small, never raises."""

    def decode(self, raw: Any) -> Event: ...


class RawEvent(Event):
    """An event still in the form its input read it; decoded on first access (or by a worker process)."""

    __slots__ = ("raw", "source")

    def __init__(self, raw: Any, source: RawSource) -> None:  # not Event.__init__: nothing is decoded yet
        self.raw = raw
        self.source = source
        self.cancelled = False

    def __getattr__(self, name: str) -> Any:
        # Only reached while the ``data`` slot is still empty: decode now, once.
        if name != "data":
            raise AttributeError(name)
        data = self.source.decode(self.raw).data
        self.data = data
        self.raw = None
        return data

    @property
    def decoded(self) -> bool:
        return self.raw is None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        if self.raw is None:
            return Event, (self.data,)
        return _decode, (self.source, self.raw)


class RawBatch(RawEvent):
    """Several events in one raw payload (a block of file lines, split in the worker process): one queue
    item that stands for ``weight`` events (pipeline/queue/weight.py), always pushed alone. Its source's
    ``decode_many`` builds all of them; ``decode`` gives the first, so a log line about a batch in the
    main process can still show an event. It is never replaced by that one event: ``raw`` stays, and
    the whole payload is what crosses the pipe."""

    __slots__ = ("weight",)

    def __init__(self, raw: Any, source: RawSource, weight: int) -> None:
        super().__init__(raw, source)
        self.weight = weight

    def __getattr__(self, name: str) -> Any:
        if name != "data":
            raise AttributeError(name)
        data = self.source.decode(self.raw).data
        self.data = data  # raw kept: the batch still holds every event
        return data

    @property
    def decoded(self) -> bool:
        return False

    def split(self, count: int) -> tuple[RawBatch, RawBatch] | None:
        """Its first ``count`` events and the rest, as two RawBatches (a queue fills a batch exactly);
        None when its source cannot split a payload (``split(raw, count)``) or ``count`` is out of range."""
        split = getattr(self.source, "split", None)
        if split is None or not 0 < count < self.weight:
            return None
        parts = split(self.raw, count)
        if parts is None:
            return None
        return RawBatch(parts[0], self.source, count), RawBatch(parts[1], self.source, self.weight - count)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _decode_all, (self.source, self.raw)  # a list of events: unpack flattens it


def _decode_all(source: RawSource, raw: Any) -> list[Event]:
    return _decode_safely(source, getattr(source, "decode_many", None), raw)


def _decode(source: RawSource, raw: Any) -> Event:
    return source.decode(raw)


# -- the wire between the main process and a worker process --------------------------------------------
def pack(batch: Sequence[Event]) -> tuple[Any, ...]:
    """A batch in its cheapest picklable form: when every event is still raw, its runs of one source
    (``(source, count)``: consecutive events of one input read) and the raw payloads as a list (pickled
    in C; a packed blob of the lines measured no cheaper, main and worker together)."""
    # Attribute reads in C (map, attrgetter): the batch's events are touched once each here.
    try:
        raws = list(map(_RAW, batch))
    except AttributeError:  # an event that is not a RawEvent
        return _events(batch)
    if None in raws:  # a RawEvent decoded already (RawEvents among events pickle as (source, raw) anyway)
        return _events(batch)
    return ("runs", _runs(list(map(_SOURCE, batch))), raws)


def _events(batch: Sequence[Event]) -> tuple[Any, ...]:
    """Events pickled one by one; a RawBatch among them unpickles as its list of events, to flatten."""
    return ("events+batches" if RawBatch in set(map(type, batch)) else "events", list(batch))


_RAW, _SOURCE = attrgetter("raw"), attrgetter("source")


def _runs(sources: list[Any]) -> list[tuple[Any, int]]:
    """Consecutive equal sources as (source, count): grouped by identity first (in C), then equal
    neighbours merged (each push of the file input makes its own source object for the same file)."""
    runs: list[tuple[Any, int]] = []
    position = 0
    for _, group in groupby(sources, key=id):
        count = len(list(group))
        source = sources[position]
        position += count
        if runs and runs[-1][0] == source:
            runs[-1] = (runs[-1][0], runs[-1][1] + count)
        else:
            runs.append((source, count))
    return runs


def unpack(packed: tuple[Any, ...]) -> list[Event]:
    """The events of a packed batch, decoded (in the worker process): a run at once by a source that
    can (``decode_many``: the file input's lines share one ``@timestamp``), else one by one."""
    if packed[0] == "events":
        return list(packed[1])
    if packed[0] == "events+batches":
        flat: list[Event] = []
        for item in packed[1]:
            if type(item) is list:
                flat += item
            else:
                flat.append(item)
        return flat
    _, runs, raws = packed
    events: list[Event] = []
    start = 0
    for source, count in runs:
        chunk = raws[start:start + count]
        start += count
        many = getattr(source, "decode_many", None)
        try:
            events += many(chunk) if many is not None else [source.decode(raw) for raw in chunk]
        except Exception:  # noqa: BLE001 - a source's bug must not kill the worker: decode one by one
            for raw in chunk:
                events += _decode_safely(source, many, raw)
    return events


def _decode_safely(source: RawSource, many: Any, raw: Any) -> list[Event]:
    """One payload's events (several for a RawBatch's: hence ``decode_many`` when the source has it)."""
    try:
        return many([raw]) if many is not None else [source.decode(raw)]
    except Exception as exc:  # noqa: BLE001 - kept, tagged and logged instead of lost
        _limited.error(type(source).__name__, "%s could not decode a raw event (%s: %s); kept as message, "
                       "tagged %s", type(source).__name__, type(exc).__name__, exc, DECODE_FAILURE_TAG)
        return [Event({"message": _as_text(raw), "tags": [DECODE_FAILURE_TAG]})]


def _as_text(raw: Any) -> str:
    if isinstance(raw, tuple) and raw:
        raw = raw[0]
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return bytes(raw).decode("utf-8", "replace")
    return str(raw)


# -- what every source applies: the input's own decoration ---------------------------------------------
@dataclass(frozen=True)
class Decoration:
    """An input's ``type``, ``add_field`` and ``tags``, applied as :meth:`Input.decorate` does."""

    type: str | None = None
    add_field: Mapping[str, Any] | None = None
    tags: tuple[str, ...] = ()

    @classmethod
    def of(cls, options: Any) -> Decoration:
        return cls(options.type or None, dict(options.add_field) or None, tuple(options.tags))

    @property
    def empty(self) -> bool:
        return not (self.type or self.add_field or self.tags)

    def apply(self, event: Event) -> None:
        decorate_input(event, self.type, self.add_field, self.tags)
