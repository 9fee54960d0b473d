"""``pipeline search --es URL``: the local index's search verbs answered by a cluster (Elasticsearch or OpenSearch).

The query is parsed once into our query model (KQL, Lucene or DSL, as for the local index) and sent
as DSL by :func:`pipeline.localindex.esdsl.to_dsl`, so the same text means the same thing on both.
Results have the local index's shapes: documents with ``_index``/``_id``, ``(key, count)`` terms,
``(bucket start, count)`` histogram rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.localindex import datemath, schema
from pipeline.localindex.esdsl import to_dsl
from pipeline.localindex.store import QueryLike, to_query


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class ClusterSearch:
    """Search, count, terms and date histograms over ``index`` on a cluster client."""

    def __init__(self, client: Any, language: str = "kuery") -> None:
        self.client = client
        self.language = language

    def _query(self, query: QueryLike, start: datetime | None, end: datetime | None) -> dict[str, Any]:
        clause = to_dsl(to_query(query, self.language))
        if start is None and end is None:
            return clause
        bounds: dict[str, Any] = {"format": "strict_date_optional_time"}
        if start is not None:
            bounds["gte"] = _iso(start)
        if end is not None:
            bounds["lt"] = _iso(end)
        return {"bool": {"must": [clause], "filter": [{"range": {schema.TIMESTAMP_FIELD: bounds}}]}}

    def _search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.client.search(index=index, ignore_unavailable=True, allow_no_indices=True, **body).body)

    def search(self, index: str, query: QueryLike, start: datetime | None, end: datetime | None, *,
               size: int = 10, sort: str = "desc", fields: list[str] | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"query": self._query(query, start, end), "size": size,
                                "sort": [{schema.TIMESTAMP_FIELD: {"order": sort, "unmapped_type": "date"}}]}
        if fields is not None:
            body["source"] = fields
        out = []
        for hit in self._search(index, body)["hits"]["hits"]:
            source = dict(hit.get("_source") or {})
            if fields is not None:
                source = {f: schema.lookup(source, f) for f in fields if schema.lookup(source, f) is not None}
            out.append({**source, "_index": hit["_index"], "_id": hit["_id"]})
        return out

    def count(self, index: str, query: QueryLike, start: datetime | None, end: datetime | None) -> int:
        response = self.client.count(index=index, query=self._query(query, start, end),
                                     ignore_unavailable=True, allow_no_indices=True)
        return int(response.body["count"])

    def terms(self, index: str, field: str, query: QueryLike, start: datetime | None, end: datetime | None, *,
              size: int = 10) -> list[tuple[Any, int]]:
        body = {"query": self._query(query, start, end), "size": 0,
                "aggs": {"t": {"terms": {"field": field, "size": size}}}}
        buckets = self._search(index, body)["aggregations"]["t"]["buckets"]
        return [(b.get("key_as_string", b["key"]), int(b["doc_count"])) for b in buckets]

    def date_histogram(self, index: str, interval: str, query: QueryLike, start: datetime | None,
                       end: datetime | None) -> list[tuple[datetime, int]]:
        step = datemath.parse_interval(interval)
        histogram: dict[str, Any] = {"field": schema.TIMESTAMP_FIELD, "fixed_interval": f"{step}ms",
                                     "min_doc_count": 0}
        if start is not None and end is not None:
            histogram["extended_bounds"] = {"min": int(start.timestamp() * 1000),
                                            "max": int(end.timestamp() * 1000) - 1}
        body = {"query": self._query(query, start, end), "size": 0, "aggs": {"h": {"date_histogram": histogram}}}
        buckets = self._search(index, body).get("aggregations", {}).get("h", {}).get("buckets", [])
        return [(datetime.fromtimestamp(b["key"] / 1000, UTC), int(b["doc_count"])) for b in buckets]
