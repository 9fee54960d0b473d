"""Rules over the embedded local index written by the pipeline (``<path.data>/index``)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.alerts.backends.base import Backend, wildcard_index
from pipeline.alerts.errors import QueryError
from pipeline.alerts.query import Query
from pipeline.alerts.state import SQLiteStateStore, StateStore, state_path


class LocalBackend(Backend):
    """Reads ``pipeline.localindex.LocalIndex``; keeps state in ``<path.data>/alerts/state.sqlite``."""

    name = "local"

    def __init__(self, path_data: Path, index: Any = None) -> None:
        self.path_data = Path(path_data)
        if index is None:
            from pipeline.localindex import LocalIndex

            index = LocalIndex(self.path_data / "index")
        self.index = index
        self._state: StateStore | None = None

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.index, method)(*args, **kwargs)
        except (OSError, sqlite3.Error, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise QueryError(f"local index {method} failed: {type(exc).__name__}: {exc}") from exc

    def count(self, index: str, query: Query | None, start: datetime, end: datetime,
              timestamp_field: str) -> int:
        return int(self._call("count", wildcard_index(index), query=query, start=start, end=end,
                              timestamp_field=timestamp_field))

    def terms(self, index: str, field: str, query: Query | None, start: datetime, end: datetime,
              timestamp_field: str, size: int) -> list[tuple[Any, int]]:
        return [(k, int(n)) for k, n in self._call("terms", wildcard_index(index), field, query=query,
                                                   start=start, end=end, size=size,
                                                   timestamp_field=timestamp_field)]

    def metric(self, index: str, agg: str, field: str, query: Query | None, start: datetime, end: datetime,
               timestamp_field: str) -> float | None:
        value = self._call("metric", wildcard_index(index), agg, field, query=query, start=start, end=end,
                           timestamp_field=timestamp_field)
        return None if value is None else float(value)

    def percentiles(self, index: str, field: str, percents: tuple[float, ...], query: Query | None,
                    start: datetime, end: datetime, timestamp_field: str) -> dict[float, float]:
        values = self._call("percentiles", wildcard_index(index), field, percents=percents, query=query,
                            start=start, end=end, timestamp_field=timestamp_field)
        return {float(k): float(v) for k, v in (values or {}).items() if v is not None}

    def search(self, index: str, query: Query | None, start: datetime, end: datetime, timestamp_field: str,
               size: int, newest_first: bool = False) -> list[dict[str, Any]]:
        hits = self._call("search", wildcard_index(index), query=query, start=start, end=end, size=size,
                          sort="desc" if newest_first else "asc", timestamp_field=timestamp_field)
        # Keep only the source, as the Elasticsearch backend does (alerts must not differ by backend).
        return [{k: v for k, v in hit.items() if k not in ("_index", "_id")} for hit in hits]

    def keyword_field(self, field: str, index: str | None = None) -> str:
        # The local index keeps every string as its exact value (only `message` is analysed), so a string
        # field is its own keyword: `user` and `user.keyword` both mean `user`, and rules written for
        # Elasticsearch's dynamic mapping give the same alerts here.
        return field.removesuffix(".keyword")

    def state_store(self) -> StateStore:
        if self._state is None:
            self._state = SQLiteStateStore(state_path(self.path_data))
        return self._state

    def close(self) -> None:
        if self._state is not None:
            self._state.close()
            self._state = None
        closer = getattr(self.index, "close", None)
        if callable(closer):
            closer()
