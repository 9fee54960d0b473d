"""Rules over Elasticsearch through the official client.

Counts are ``_count`` requests and terms/metrics/percentiles are aggregations with
``size: 0``, so only ``any``-like rules pull documents. Daily indices are expanded
to the days of the window (``ignore_unavailable``), so a 5-minute query touches one
or two indices, not every ``logs-*``. The state lives in ``pipeline-alerts-status``.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pipeline.alerts.backends.base import Backend, expand_index, keyword_postfix, wildcard_index
from pipeline.alerts.errors import QueryError
from pipeline.alerts.query import Query, combine, time_range
from pipeline.alerts.state import Record, StateStore

STATUS_INDEX = "pipeline-alerts-status"
log = logging.getLogger("pipeline.alerts")


def _errors() -> tuple[type[BaseException], ...]:
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    return (ApiError, TransportError)


class ElasticsearchBackend(Backend):
    """Queries an Elasticsearch cluster; state in the ``pipeline-alerts-status`` index."""

    name = "elasticsearch"

    def __init__(self, client: Any, status_index: str = STATUS_INDEX) -> None:
        self.client = client
        self.status_index = status_index
        self._state: ElasticsearchStateStore | None = None
        self._exact: dict[tuple[str, str], str] = {}  # (index, field) -> its exact-value field, once mapped

    def _query(self, query: Query | None, start: datetime, end: datetime, timestamp_field: str) -> Query:
        return combine(query, time_range(timestamp_field, start, end)) or {"match_all": {}}

    @staticmethod
    def _indices(index: str, start: datetime, end: datetime) -> str:
        return ",".join(expand_index(index, start, end))

    def _request(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(**kwargs)
        except _errors() as exc:
            raise QueryError(f"Elasticsearch {method} failed: {exc}") from exc

    def _aggregate(self, index: str, aggs: dict[str, Any], query: Query | None, start: datetime,
                   end: datetime, timestamp_field: str) -> dict[str, Any]:
        body = self._request("search", index=self._indices(index, start, end), size=0, aggs=aggs,
                             query=self._query(query, start, end, timestamp_field), ignore_unavailable=True,
                             allow_no_indices=True, track_total_hits=False)
        return dict(body.get("aggregations") or {})

    def count(self, index: str, query: Query | None, start: datetime, end: datetime,
              timestamp_field: str) -> int:
        body = self._request("count", index=self._indices(index, start, end),
                             query=self._query(query, start, end, timestamp_field),
                             ignore_unavailable=True, allow_no_indices=True)
        return int(body["count"])

    def terms(self, index: str, field: str, query: Query | None, start: datetime, end: datetime,
              timestamp_field: str, size: int) -> list[tuple[Any, int]]:
        aggs = self._aggregate(index, {"k": {"terms": {"field": field, "size": size}}}, query, start, end,
                               timestamp_field)
        return [(_key(b), int(b["doc_count"])) for b in aggs.get("k", {}).get("buckets", [])]

    def metric(self, index: str, agg: str, field: str, query: Query | None, start: datetime, end: datetime,
               timestamp_field: str) -> float | None:
        aggs = self._aggregate(index, {"m": {agg: {"field": field}}}, query, start, end, timestamp_field)
        value = aggs.get("m", {}).get("value")
        return None if value is None else float(value)

    def terms_metric(self, index: str, key_field: str, agg: str, field: str, query: Query | None,
                     start: datetime, end: datetime, timestamp_field: str, size: int
                     ) -> list[tuple[Any, float | None]]:
        aggs = self._aggregate(index, {"k": {"terms": {"field": key_field, "size": size},
                                             "aggs": {"m": {agg: {"field": field}}}}},
                               query, start, end, timestamp_field)
        out = []
        for bucket in aggs.get("k", {}).get("buckets", []):
            value = bucket.get("m", {}).get("value")
            out.append((_key(bucket), None if value is None else float(value)))
        return out

    def percentiles(self, index: str, field: str, percents: tuple[float, ...], query: Query | None,
                    start: datetime, end: datetime, timestamp_field: str) -> dict[float, float]:
        aggs = self._aggregate(index, {"p": {"percentiles": {"field": field, "percents": list(percents)}}},
                               query, start, end, timestamp_field)
        values = aggs.get("p", {}).get("values", {})
        return {float(k): float(v) for k, v in values.items() if v is not None}

    def search(self, index: str, query: Query | None, start: datetime, end: datetime, timestamp_field: str,
               size: int, newest_first: bool = False) -> list[dict[str, Any]]:
        body = self._request("search", index=self._indices(index, start, end), size=size,
                             query=self._query(query, start, end, timestamp_field),
                             sort=[{timestamp_field: {"order": "desc" if newest_first else "asc"}}], ignore_unavailable=True,
                             allow_no_indices=True)
        return [dict(hit.get("_source") or {}) for hit in body.get("hits", {}).get("hits", [])]

    def keyword_field(self, field: str, index: str | None = None) -> str:
        """``<field>.keyword`` as ElastAlert2 asks for it, except where the index maps ``field`` itself as an
        exact value (keyword, ip, number...: our own index template maps strings as keyword) and has no
        ``.keyword`` sub-field: there ElastAlert2's terms of ``<field>.keyword`` find nothing, so every value
        would look new, or none; the field as written is what the rule means (logged once)."""
        postfixed = keyword_postfix(field)
        if index is None or postfixed == field:
            return postfixed
        known = self._exact.get((index, field))
        if known is not None:
            return known
        request = getattr(self.client, "perform_request", None)
        if request is None:
            return postfixed
        # fields as a query parameter: the 8.x client's field_caps() sends them in the body, which
        # OpenSearch 2 refuses ("specified fields can't be null or empty").
        path = f"/{quote(wildcard_index(index), safe=',*')}/_field_caps"
        try:
            caps = request("GET", path, params={"fields": f"{field},{postfixed}", "ignore_unavailable": "true",
                                                "allow_no_indices": "true"},
                           headers={"accept": "application/json"}).body.get("fields", {})
        except _errors() as exc:
            raise QueryError(f"Elasticsearch field_caps failed: {exc}") from exc
        if postfixed in caps:
            exact = postfixed
        elif field in caps and all(kind.get("aggregatable") for kind in caps[field].values()):
            exact = field
            log.warning('new_term: %s has no field %s, and %s is mapped as an exact value (%s): its terms are '
                        "read from %s (ElastAlert2 would ask for %s and find none; use_keyword_postfix: false "
                        "says so)", index, postfixed, field, ", ".join(caps[field]), field, postfixed)
        else:
            return postfixed  # not mapped yet (no documents): asked again next run
        self._exact[(index, field)] = exact
        return exact

    def state_store(self) -> StateStore:
        if self._state is None:
            self._state = ElasticsearchStateStore(self.client, self.status_index)
        return self._state

    def close(self) -> None:
        closer = getattr(self.client, "close", None)
        if callable(closer):
            closer()


def _key(bucket: dict[str, Any]) -> Any:
    # Booleans come back as 1/0 with key_as_string "true"/"false"; keep the readable form.
    if "key_as_string" in bucket and bucket["key_as_string"] in ("true", "false"):
        return bucket["key_as_string"] == "true"
    return bucket["key"]


class ElasticsearchStateStore(StateStore):
    """State documents in an Elasticsearch index (refreshed on write: a few writes per run)."""

    MAPPING = {"dynamic": "strict", "properties": {
        "kind": {"type": "keyword"}, "rule": {"type": "keyword"}, "key": {"type": "keyword"},
        "due": {"type": "double"}, "doc": {"type": "object", "enabled": False}}}

    def __init__(self, client: Any, index: str = STATUS_INDEX) -> None:
        self.client = client
        self.index = index
        self._ready = False

    def _ensure_index(self) -> None:
        if self._ready:
            return
        from elasticsearch import BadRequestError

        try:
            if not self.client.indices.exists(index=self.index):
                self.client.indices.create(index=self.index, mappings=self.MAPPING)
        except BadRequestError as exc:  # created meanwhile by another runner
            if "resource_already_exists" not in str(exc):
                raise QueryError(f"cannot create the alert status index {self.index}: {exc}") from exc
        except _errors() as exc:
            raise QueryError(f"cannot create the alert status index {self.index}: {exc}") from exc
        self._ready = True

    @staticmethod
    def _id(kind: str, rule: str, key: str) -> str:
        return hashlib.sha1(f"{kind}\x00{rule}\x00{key}".encode()).hexdigest()

    def get(self, kind: str, rule: str, key: str) -> dict[str, Any] | None:
        from elasticsearch import NotFoundError

        self._ensure_index()
        try:
            found = self.client.get(index=self.index, id=self._id(kind, rule, key))
        except NotFoundError:
            return None
        except _errors() as exc:
            raise QueryError(f"cannot read alert state: {exc}") from exc
        return dict(found["_source"]["doc"])

    def put(self, kind: str, rule: str, key: str, doc: dict[str, Any], due: float | None = None) -> None:
        self._ensure_index()
        try:
            self.client.index(index=self.index, id=self._id(kind, rule, key), refresh=True,
                              document={"kind": kind, "rule": rule, "key": key, "due": due, "doc": doc})
        except _errors() as exc:
            raise QueryError(f"cannot write alert state: {exc}") from exc

    def delete(self, kind: str, rule: str, key: str) -> None:
        from elasticsearch import NotFoundError

        self._ensure_index()
        try:
            self.client.delete(index=self.index, id=self._id(kind, rule, key), refresh=True)
        except NotFoundError:
            pass
        except _errors() as exc:
            raise QueryError(f"cannot delete alert state: {exc}") from exc

    def list(self, kind: str, rule: str | None = None, due_before: float | None = None) -> list[Record]:
        self._ensure_index()
        clauses: list[dict[str, Any]] = [{"term": {"kind": kind}}]
        if rule is not None:
            clauses.append({"term": {"rule": rule}})
        if due_before is not None:
            clauses.append({"range": {"due": {"lte": due_before}}})
        try:
            body = self.client.search(index=self.index, query={"bool": {"filter": clauses}}, size=10000,
                                      sort=[{"due": {"order": "asc", "missing": "_last"}}])
        except _errors() as exc:
            raise QueryError(f"cannot list alert state: {exc}") from exc
        return [(h["_source"]["rule"], h["_source"]["key"], dict(h["_source"]["doc"]))
                for h in body.get("hits", {}).get("hits", [])]
