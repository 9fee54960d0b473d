"""The read interface every backend offers to rule types, and daily-index expansion.

Times are timezone-aware datetimes; windows are half-open ``[start, end)``.
Counts and aggregations are computed by the backend (by the server for
Elasticsearch); only ``search`` returns documents.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pipeline.alerts.query import Query

if TYPE_CHECKING:
    from pipeline.alerts.state import StateStore

MAX_EXPANDED_INDICES = 400
# Daily indices may be cut in a local time zone (index_timezone): an event is at most 14 hours
# away from the UTC day its index is named after, so the names of the neighbouring hours are included.
ZONE_MARGIN = timedelta(hours=14)
_JODA = re.compile(r"%\{\+([^}]*)\}")
_STRFTIME = re.compile(r"%[YmdHjy]")


class Backend(ABC):
    """Counts, terms, metrics and documents over ``[start, end)`` of the indices ``index``."""

    name = "backend"

    @abstractmethod
    def count(self, index: str, query: Query | None, start: datetime, end: datetime,
              timestamp_field: str) -> int: ...

    @abstractmethod
    def terms(self, index: str, field: str, query: Query | None, start: datetime, end: datetime,
              timestamp_field: str, size: int) -> list[tuple[Any, int]]: ...

    @abstractmethod
    def metric(self, index: str, agg: str, field: str, query: Query | None, start: datetime, end: datetime,
               timestamp_field: str) -> float | None: ...

    @abstractmethod
    def percentiles(self, index: str, field: str, percents: tuple[float, ...], query: Query | None,
                    start: datetime, end: datetime, timestamp_field: str) -> dict[float, float]: ...

    @abstractmethod
    def search(self, index: str, query: Query | None, start: datetime, end: datetime, timestamp_field: str,
               size: int, newest_first: bool = False) -> list[dict[str, Any]]:
        """Documents (their source, oldest first unless ``newest_first``), at most ``size``."""

    def terms_metric(self, index: str, key_field: str, agg: str, field: str, query: Query | None,
                     start: datetime, end: datetime, timestamp_field: str, size: int
                     ) -> list[tuple[Any, float | None]]:
        """A metric per term of ``key_field`` (Elasticsearch does it in one request)."""
        from pipeline.alerts.query import combine, key_filter

        return [(key, self.metric(index, agg, field, combine(query, key_filter([key_field], [key])), start,
                                  end, timestamp_field))
                for key, _ in self.terms(index, key_field, query, start, end, timestamp_field, size)]

    def keyword_field(self, field: str, index: str | None = None) -> str:
        """The exact-value (aggregatable) field of ``field`` in ``index``: its ``.keyword`` sub-field, as
        dynamic mapping makes it for strings."""
        return keyword_postfix(field)

    @abstractmethod
    def state_store(self) -> StateStore:
        """Where the alert state lives for this backend."""

    def close(self) -> None:
        """Release connections."""
        return None


def keyword_postfix(field: str) -> str:
    """``field`` + ``.keyword`` unless it already ends so (ElastAlert2's ``util.add_keyword_postfix``)."""
    return field if field.endswith(".keyword") else field + ".keyword"


def expand_index(pattern: str, start: datetime, end: datetime) -> list[str]:
    """Concrete names of a dated index pattern for the days (hours) in ``[start, end)``.

    ``logs-%{+YYYY.MM.dd}`` and strftime ``logs-%Y.%m.%d`` are expanded; plain names and
    wildcards are returned as they are. Too long a range falls back to a wildcard.
    """
    joda = _JODA.search(pattern)
    if not joda and not _STRFTIME.search(pattern):
        return [pattern]
    hourly = ("HH" in joda.group(1)) if joda else ("%H" in pattern)
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    moment = (start - ZONE_MARGIN).astimezone(UTC)
    moment = moment.replace(minute=0, second=0, microsecond=0) if hourly else \
        moment.replace(hour=0, minute=0, second=0, microsecond=0)
    names: list[str] = []
    while moment < end + ZONE_MARGIN:
        names.append(_render(pattern, moment))
        if len(names) > MAX_EXPANDED_INDICES:
            return [wildcard_index(pattern)]
        moment += step
    return list(dict.fromkeys(names))


def _render(pattern: str, moment: datetime) -> str:
    from pipeline import joda

    def joda_part(match: re.Match[str]) -> str:
        return joda.compile_formatter(match.group(1))(moment)

    return _STRFTIME.sub(lambda m: moment.strftime(m.group(0)), _JODA.sub(joda_part, pattern))


def wildcard_index(pattern: str) -> str:
    """A dated pattern as a wildcard (``logs-%{+YYYY.MM.dd}`` → ``logs-*``) for stores that prune by time."""
    return _JODA.sub("*", _STRFTIME.sub("*", pattern))
