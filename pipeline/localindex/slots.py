"""Documents counted per minute ("slots"), per query and per value of a field, and a bounded cache of them.

A dashboard asks many questions of the same documents: counts, histograms, top values, split series,
distinct values. Each is a sum over per-minute counts, so :meth:`LocalIndex.slot_counts` counts each
question's documents per minute (and per value) once, and :class:`SlotCounts` derives the answers from
those counts exactly as the separate methods (``count``, ``date_histogram``, ``terms``,
``split_date_histogram``, ``metric(cardinality)``) compute them.

Why whole minutes can be cached: rows of an index file are only ever appended (ids grow; a committed
row never changes), so the counts over rows ``id <= upto`` stay true while the file is the same file —
same inode, same first row, same row ``upto``, same schema. Newer rows are added to the cached counts
on the next question; a file deleted or replaced (retention, ``indices --delete``, a restore) no longer
matches and is counted afresh. The minutes a time range cuts are read from the file each time.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.localindex.query import Query, QueryError

SLOT_MS = 60_000  # histogram intervals that are whole multiples of this are answered from the slots
MAX_BUCKETS = 1_000_000  # as date_histogram: more buckets than this is a mistake in the interval

# Rows one counting pass may return for one file (value x slot x query combination): a field with more
# distinct values per minute (url.original on a busy site) is answered by the plain terms query instead.
MAX_SLOT_ROWS = 250_000

# (JSON type, value) of a field's value, or None when counting documents; -> slot start (ms) -> documents.
ValueKey = tuple[str, Any] | None
Counts = dict[ValueKey, dict[int, int]]


@dataclass(frozen=True)
class SlotRequest:
    """Documents matching ``query`` (in the asked time range), counted per slot and, with ``field``,
    per value of the field (a document counts once per distinct value it holds)."""

    query: Query
    field: str | None = None


def json_value(jtype: str, value: Any) -> Any:
    """The value as a terms bucket key: SQLite gives JSON booleans as 1/0 with their type beside them."""
    if jtype == "true":
        return True
    if jtype == "false":
        return False
    return value


def value_kind(jtype: str) -> str:
    """What a distinct value counts as for cardinality: 1 and 1.0 are one number, "1" is another value."""
    return "number" if jtype in ("integer", "real") else jtype


def sort_key(value: Any) -> tuple[int, Any]:
    """Elasticsearch's order among equal counts: booleans, numbers, then strings."""
    if isinstance(value, bool):
        return (0, value)
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value))


def floor_to(millis: int, step: int) -> int:
    return millis - (millis % step)


def slot_expr(ts: str = "d.ts") -> str:
    """SQL: the start of the slot holding ``ts`` (floored towards minus infinity, as histogram buckets)."""
    return f"({ts} - ({ts} % {SLOT_MS}) - (CASE WHEN {ts} % {SLOT_MS} < 0 THEN {SLOT_MS} ELSE 0 END))"


class SlotCounts:
    """The counts of one :class:`SlotRequest` over a time range, and the answers derived from them."""

    def __init__(self, counts: Counts, start: datetime, end: datetime) -> None:
        self.counts = counts
        self.start_ms = int(start.timestamp() * 1000)
        self.end_ms = int(end.timestamp() * 1000)

    def count(self) -> int:
        return sum(sum(slots.values()) for slots in self.counts.values())

    def histogram(self, step: int) -> list[tuple[int, int]]:
        """Counts per ``step`` ms (a multiple of SLOT_MS), every bucket of the range, as date_histogram."""
        total: Counter[int] = Counter()
        for slots in self.counts.values():
            self._add_buckets(total, slots, step)
        return self._buckets(total, step)

    def terms(self, size: int) -> list[tuple[Any, int]]:
        """The ``size`` most frequent values (all when 0): count descending, then key ascending."""
        totals = self._totals()
        ranked = sorted(totals.items(), key=lambda kv: (-kv[1], sort_key(kv[0])))
        return ranked[:size] if size else ranked

    def split_histogram(self, step: int, size: int) -> list[tuple[Any, list[tuple[int, int]]]]:
        """The ``size`` top values, each with its counts per ``step`` ms (as split_date_histogram)."""
        per_value: dict[Any, Counter[int]] = {}
        for key, slots in self.counts.items():
            assert key is not None
            self._add_buckets(per_value.setdefault(json_value(*key), Counter()), slots, step)
        totals = {value: sum(buckets.values()) for value, buckets in per_value.items()}
        ranked = sorted(totals, key=lambda value: (-totals[value], sort_key(value)))[:size]
        return [(value, self._buckets(per_value[value], step)) for value in ranked]

    def cardinality(self) -> int:
        return len({(value_kind(key[0]), key[1]) for key in self.counts if key is not None})

    def _totals(self) -> Counter[Any]:
        totals: Counter[Any] = Counter()
        for key, slots in self.counts.items():
            assert key is not None
            totals[json_value(*key)] += sum(slots.values())
        return totals

    @staticmethod
    def _add_buckets(into: Counter[int], slots: dict[int, int], step: int) -> None:
        if step % SLOT_MS:
            raise QueryError(f"a histogram from minute counts needs a whole number of minutes, got {step} ms")
        for slot, n in slots.items():
            into[floor_to(slot, step)] += n

    def _buckets(self, counts: Counter[int], step: int) -> list[tuple[int, int]]:
        first = floor_to(self.start_ms, step)
        last = floor_to(self.end_ms - 1, step)
        if (last - first) // step > MAX_BUCKETS:
            raise QueryError(f"date_histogram: {(last - first) // step} buckets; use a larger interval")
        return [(bucket, counts.get(bucket, 0)) for bucket in range(first, last + 1, step)]


def merge_counts(into: Counts, more: Counts) -> None:
    """Add the counts of ``more`` to ``into``."""
    for key, slots in more.items():
        held = into.setdefault(key, {})
        for slot, n in slots.items():
            held[slot] = held.get(slot, 0) + n


def counts_within(counts: Counts, low: int, high: int) -> Counts:
    """The slots of ``counts`` in [low, high)."""
    out: Counts = {}
    for key, slots in counts.items():
        kept = {slot: n for slot, n in slots.items() if low <= slot < high}
        if kept:
            out[key] = kept
    return out


@dataclass
class CachedCounts:
    """Counts of one request over the rows ``id <= upto`` of one file; ``mark`` is row ``upto``'s
    (ts, length of its JSON), which a replaced file would not have. ``counts`` None: too many
    distinct (value, slot) pairs to keep; the question is answered without slots."""

    upto: int
    mark: tuple[Any, ...] | None
    counts: Counts | None

    @property
    def size(self) -> int:
        return 1 if self.counts is None else 1 + sum(len(slots) for slots in self.counts.values())


class SlotCache:
    """Least recently used :class:`CachedCounts`, bounded by the number of (value, slot) counts held."""

    def __init__(self, max_counts: int = 2_000_000) -> None:
        self.max_counts = max_counts
        self._entries: OrderedDict[Hashable, CachedCounts] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> CachedCounts | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, entry: CachedCounts) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._held -= old.size
            if entry.size > self.max_counts:
                return
            self._entries[key] = entry
            self._held += entry.size
            while self._held > self.max_counts:
                _, evicted = self._entries.popitem(last=False)
                self._held -= evicted.size

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def held(self) -> int:
        return self._held
