"""What a rule type is: options, and ``evaluate`` over one step of time returning matches.

Aggregate types (frequency, spike, ...) look at windows ending at the step end and
ask the backend for counts; document types (any, blacklist, ...) read the events of
the step. ``memory`` is a JSON-able dict the engine persists per rule between runs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pipeline.alerts.backends.base import Backend
from pipeline.alerts.options import RuleOptions
from pipeline.alerts.query import Query, combine, key_filter
from pipeline.alerts.registry import Declared

KNOWN_TERMS_SIZE = 10000
log = logging.getLogger("pipeline.alerts")


@dataclass
class Match:
    """One thing to alert about."""

    time: datetime                      # event time, or the end of the window that matched
    key: tuple[Any, ...] = ()           # query_key values (empty without query_key)
    event: dict[str, Any] = field(default_factory=dict)  # the matching (or latest) document
    count: int | None = None            # events in the window, when the type counts
    window: tuple[datetime, datetime] | None = None
    details: dict[str, Any] = field(default_factory=dict)  # type-specific values (reference count ...)

    @property
    def key_text(self) -> str:
        return ", ".join(str(v) for v in self.key)


class RuleType(Declared):
    """Base of the rule types; subclasses set ``name``, ``Options`` and ``evaluate``."""

    name: ClassVar[str] = ""
    Options: ClassVar[type[RuleOptions]] = RuleOptions
    document_based: bool = False  # reads documents: the first run looks back buffer_time

    def __init__(self, options: RuleOptions) -> None:
        self.options = options

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        raise NotImplementedError

    def step(self) -> timedelta:
        """How much time one evaluation covers (run_every; bucket_interval where buckets tile time)."""
        return self.options.run_every.delta

    def first_step_start(self, start: datetime, end_limit: datetime) -> datetime:
        """Where a run that is behind begins: every due step by default; types whose each step looks
        back a whole window override it to evaluate only the latest step (as ElastAlert2 queries once)."""
        return start

    def window(self, end: datetime) -> tuple[datetime, datetime]:
        """The window an aggregate type looks at for a step ending at ``end``."""
        timeframe = getattr(self.options, "timeframe", None) or self.options.run_every
        return end - timeframe.delta, end


class Scope:
    """One rule's view of a backend: its index, timestamp field, filter and query_key."""

    def __init__(self, backend: Backend, options: RuleOptions, query: Query | None) -> None:
        self.backend = backend
        self.options = options
        self.query = query
        self.index = options.index
        self.timestamp_field = options.timestamp_field
        self.query_key = tuple(options.query_key)

    def _q(self, extra: Query | None) -> Query | None:
        return combine(self.query, extra)

    def count(self, start: datetime, end: datetime, extra: Query | None = None) -> int:
        return self.backend.count(self.index, self._q(extra), start, end, self.timestamp_field)

    def terms(self, fieldname: str, start: datetime, end: datetime, extra: Query | None = None,
              size: int | None = None) -> list[tuple[Any, int]]:
        return self.backend.terms(self.index, fieldname, self._q(extra), start, end, self.timestamp_field,
                                  size or self.options.terms_size)

    def keyword_field(self, fieldname: str) -> str:
        """The field that holds ``fieldname``'s exact values on this backend (``<field>.keyword`` on Elasticsearch)."""
        return self.backend.keyword_field(fieldname, self.index)

    def grouped_counts(self, start: datetime, end: datetime, extra: Query | None = None,
                       fields: Sequence[str] | None = None) -> dict[tuple[Any, ...], int]:
        """Event counts per value of the query_key fields (``{(): n}`` without query_key)."""
        fields = self.query_key if fields is None else tuple(fields)
        if not fields:
            total = self.count(start, end, extra)
            return {(): total} if total else {}
        out: dict[tuple[Any, ...], int] = {}
        for value, n in self.terms(fields[0], start, end, extra):
            if len(fields) == 1:
                out[(value,)] = n
                continue
            narrowed = combine(extra, key_filter(fields[:1], [value]))
            for rest, m in self.grouped_counts(start, end, narrowed, fields[1:]).items():
                out[(value, *rest)] = m
        return out

    def key_query(self, key: tuple[Any, ...]) -> Query | None:
        return key_filter(self.query_key, key) if key else None

    def metric_by_key(self, agg: str, fieldname: str, start: datetime, end: datetime,
                      extra: Query | None = None) -> dict[tuple[Any, ...], float | None]:
        """A metric per query_key value (one aggregation request for a single key field)."""
        if not self.query_key:
            return {(): self.metric(agg, fieldname, start, end, extra)}
        if len(self.query_key) == 1:
            return {(k,): v for k, v in self.backend.terms_metric(
                self.index, self.query_key[0], agg, fieldname, self._q(extra), start, end,
                self.timestamp_field, self.options.terms_size)}
        return {key: self.metric(agg, fieldname, start, end, combine(extra, self.key_query(key)))
                for key in self.grouped_counts(start, end, extra)}

    def metric(self, agg: str, fieldname: str, start: datetime, end: datetime,
               extra: Query | None = None) -> float | None:
        return self.backend.metric(self.index, agg, fieldname, self._q(extra), start, end,
                                   self.timestamp_field)

    def percentiles(self, fieldname: str, percents: tuple[float, ...], start: datetime, end: datetime,
                    extra: Query | None = None) -> dict[float, float]:
        return self.backend.percentiles(self.index, fieldname, percents, self._q(extra), start, end,
                                        self.timestamp_field)

    def documents(self, start: datetime, end: datetime, extra: Query | None = None,
                  size: int | None = None, newest_first: bool = False) -> list[dict[str, Any]]:
        limit = size or self.options.max_query_size
        docs = self.backend.search(self.index, self._q(extra), start, end, self.timestamp_field, limit,
                                   newest_first)
        if size is None and len(docs) >= limit:
            log.warning("rule %s: more than max_query_size (%d) events between %s and %s; the rest are not "
                        "read (raise max_query_size, narrow the filter, or use a counting rule type)",
                        self.options.name, limit, start, end)
        return docs

    def latest(self, start: datetime, end: datetime, key: tuple[Any, ...] = (),
               extra: Query | None = None) -> dict[str, Any]:
        """The newest document of the window for a key (shown in the alert), or {}."""
        docs = self.documents(start, end, combine(extra, self.key_query(key)), size=1, newest_first=True)
        return docs[0] if docs else {}

    def first_time(self, start: datetime, end: datetime, key: tuple[Any, ...] = ()) -> datetime:
        """The time of the oldest event of a key in the window (``end`` when there is none)."""
        docs = self.documents(start, end, self.key_query(key), size=1)
        return self.event_time(docs[0], end) if docs else end

    def key_of(self, doc: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(lookup_field(doc, f) for f in self.query_key)

    def event_time(self, doc: dict[str, Any], default: datetime) -> datetime:
        from pipeline.timestamp import Timestamp

        value = lookup_field(doc, self.timestamp_field)
        try:
            return Timestamp.coerce(value).to_datetime() if value is not None else default
        except (TypeError, ValueError):
            return default


def lookup_field(doc: dict[str, Any], name: str) -> Any:
    """A field by dotted name (``service.name``) in nested or flat documents; None when absent."""
    if name in doc:
        return doc[name]
    current: Any = doc
    for part in name.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return None
    return current


def nested(fields: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    """A document holding ``values`` under dotted ``fields`` (for matches without a document)."""
    out: dict[str, Any] = {}
    for name, value in zip(fields, values, strict=True):
        target = out
        parts = name.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out
