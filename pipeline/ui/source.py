"""Where the page reads events from: the embedded local index, or Elasticsearch/OpenSearch.

Both answer the same questions (count, newest documents, histogram, terms, one metric) for a query
already parsed into the local index's query model, so KQL and Lucene mean the same on both: the cluster
receives the DSL from :func:`pipeline.localindex.esdsl.to_dsl`, as the alert engine does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pipeline.localindex import LocalIndex
from pipeline.localindex.query import Query
from pipeline.localindex.slots import SLOT_MS, SlotCounts, SlotRequest

TIMESTAMP = "@timestamp"


@dataclass(frozen=True)
class Question:
    """One aggregation a panel shows: a count, a histogram, top values, top values each with its
    histogram (split), or the number of distinct values (cardinality) of the documents of ``query``."""

    kind: Literal["count", "histogram", "terms", "split", "cardinality"]
    query: Query
    field: str | None = None
    interval_ms: int = 0
    size: int = 0


class Source(ABC):
    name = "source"

    @abstractmethod
    def count(self, index: str, query: Query, start: datetime, end: datetime) -> int: ...

    @abstractmethod
    def search(self, index: str, query: Query, start: datetime, end: datetime, size: int,
               offset: int = 0) -> list[dict[str, Any]]: ...

    @abstractmethod
    def histogram(self, index: str, query: Query, start: datetime, end: datetime,
                  interval_ms: int) -> list[tuple[int, int]]: ...

    @abstractmethod
    def terms(self, index: str, field: str, query: Query, start: datetime, end: datetime,
              size: int) -> list[tuple[Any, int]]: ...

    @abstractmethod
    def metric(self, index: str, agg: str, field: str, query: Query, start: datetime,
               end: datetime) -> float | None: ...

    def split_histogram(self, index: str, field: str, query: Query, start: datetime, end: datetime,
                        interval_ms: int, size: int) -> list[tuple[Any, list[tuple[int, int]]]]:
        """The ``size`` top values of ``field``, each with its histogram (a terms pass, then one per value)."""
        from pipeline.localindex.query import Bool, Term

        out = []
        for value, _ in self.terms(index, field, query, start, end, size):
            sub = Bool(must=(query, Term(field, value)))
            out.append((value, self.histogram(index, sub, start, end, interval_ms)))
        return out

    def answer(self, index: str, questions: list[Question], start: datetime, end: datetime) -> list[Any]:
        """The answers to a page's questions, in order; a source may share work between them."""
        return [self.answer_one(index, question, start, end) for question in questions]

    def answer_one(self, index: str, question: Question, start: datetime, end: datetime) -> Any:
        """One question answered by its own query."""
        kind, query, field = question.kind, question.query, question.field
        if kind == "count":
            return self.count(index, query, start, end)
        if kind == "histogram":
            return self.histogram(index, query, start, end, question.interval_ms)
        assert field is not None, f"a {kind} question needs a field"
        if kind == "terms":
            return self.terms(index, field, query, start, end, question.size)
        if kind == "split":
            return self.split_histogram(index, field, query, start, end, question.interval_ms, question.size)
        return self.metric(index, "cardinality", field, query, start, end)

    def state_store(self) -> Any:
        """The alert state of this source, or None."""
        return None


class LocalSource(Source):
    name = "local"

    def __init__(self, index_dir: Path, path_data: Path | None = None) -> None:
        self.index = LocalIndex(Path(index_dir))
        self.path_data = Path(path_data) if path_data is not None else Path(index_dir).parent

    def count(self, index: str, query: Query, start: datetime, end: datetime) -> int:
        return self.index.count(index, query, start, end)

    def search(self, index: str, query: Query, start: datetime, end: datetime, size: int,
               offset: int = 0) -> list[dict[str, Any]]:
        docs = self.index.search(index, query, start, end, size=size + offset, sort="desc")
        return docs[offset:]

    def histogram(self, index: str, query: Query, start: datetime, end: datetime,
                  interval_ms: int) -> list[tuple[int, int]]:
        buckets = self.index.date_histogram(index, f"{interval_ms}ms", query, start, end)
        return [(int(moment.timestamp() * 1000), n) for moment, n in buckets]

    def terms(self, index: str, field: str, query: Query, start: datetime, end: datetime,
              size: int) -> list[tuple[Any, int]]:
        return self.index.terms(index, field, query, start, end, size=size)

    def split_histogram(self, index: str, field: str, query: Query, start: datetime, end: datetime,
                        interval_ms: int, size: int) -> list[tuple[Any, list[tuple[int, int]]]]:
        series = self.index.split_date_histogram(index, f"{interval_ms}ms", field, query, start, end, size=size)
        return [(value, [(int(moment.timestamp() * 1000), n) for moment, n in buckets]) for value, buckets in series]

    def metric(self, index: str, agg: str, field: str, query: Query, start: datetime,
               end: datetime) -> float | None:
        value = self.index.metric(index, agg, field, query, start, end)  # type: ignore[arg-type]
        return None if value is None else float(value)

    def answer(self, index: str, questions: list[Question], start: datetime, end: datetime) -> list[Any]:
        """Every question on the same documents and field from one set of per-minute counts
        (:meth:`LocalIndex.slot_counts`, cached per file); the rest by their own query."""
        requests: dict[SlotRequest, int] = {}
        asked: list[int | None] = []
        for question in questions:
            if question.kind in ("histogram", "split") and question.interval_ms % SLOT_MS:
                asked.append(None)  # buckets narrower than a minute: not from minute counts
                continue
            field = None if question.kind in ("count", "histogram") else question.field
            asked.append(requests.setdefault(SlotRequest(question.query, field), len(requests)))
        counted = self.index.slot_counts(index, list(requests), start, end) if requests else []
        out = []
        for question, position in zip(questions, asked, strict=True):
            counts = None if position is None else counted[position]
            out.append(self.answer_one(index, question, start, end) if counts is None
                       else _from_slots(question, counts))
        return out

    def state_store(self) -> Any:
        from pipeline.alerts.state import SQLiteStateStore, state_path

        path = state_path(self.path_data)
        return SQLiteStateStore(path) if path.exists() else None


class ElasticsearchSource(Source):
    """A cluster through the official client; the queries go as DSL."""

    name = "elasticsearch"

    def __init__(self, client: Any) -> None:
        self.client = client

    @staticmethod
    def _body(query: Query, start: datetime, end: datetime) -> dict[str, Any]:
        from pipeline.localindex.esdsl import to_dsl

        window = {"range": {TIMESTAMP: {"gte": _iso(start), "lt": _iso(end),
                                        "format": "strict_date_optional_time"}}}
        return {"bool": {"filter": [to_dsl(query), window]}}

    def count(self, index: str, query: Query, start: datetime, end: datetime) -> int:
        body = self.client.count(index=index, query=self._body(query, start, end), ignore_unavailable=True)
        return int(body["count"])

    def search(self, index: str, query: Query, start: datetime, end: datetime, size: int,
               offset: int = 0) -> list[dict[str, Any]]:
        body = self.client.search(index=index, query=self._body(query, start, end), size=size, from_=offset,
                                  sort=[{TIMESTAMP: {"order": "desc"}}], ignore_unavailable=True)
        return [{**hit["_source"], "_index": hit["_index"], "_id": hit["_id"]} for hit in body["hits"]["hits"]]

    def histogram(self, index: str, query: Query, start: datetime, end: datetime,
                  interval_ms: int) -> list[tuple[int, int]]:
        aggs = {"h": {"date_histogram": {"field": TIMESTAMP, "fixed_interval": f"{interval_ms}ms",
                                         "min_doc_count": 0, "extended_bounds": {
                                             "min": int(start.timestamp() * 1000),
                                             "max": int(end.timestamp() * 1000) - 1}}}}
        body = self.client.search(index=index, query=self._body(query, start, end), size=0, aggs=aggs,
                                  ignore_unavailable=True)
        return [(int(b["key"]), int(b["doc_count"])) for b in body["aggregations"]["h"]["buckets"]]

    def terms(self, index: str, field: str, query: Query, start: datetime, end: datetime,
              size: int) -> list[tuple[Any, int]]:
        aggs = {"t": {"terms": {"field": field, "size": size}}}
        body = self.client.search(index=index, query=self._body(query, start, end), size=0, aggs=aggs,
                                  ignore_unavailable=True)
        return [(b["key"], int(b["doc_count"])) for b in body["aggregations"]["t"]["buckets"]]

    def metric(self, index: str, agg: str, field: str, query: Query, start: datetime,
               end: datetime) -> float | None:
        aggs = {"m": {agg: {"field": field}}}
        body = self.client.search(index=index, query=self._body(query, start, end), size=0, aggs=aggs,
                                  ignore_unavailable=True)
        value = body["aggregations"]["m"].get("value")
        return None if value is None else float(value)


def _from_slots(question: Question, counts: SlotCounts) -> Any:
    """What :meth:`Source.answer_one` gives for ``question``, from the question's minute counts."""
    kind = question.kind
    if kind == "count":
        return counts.count()
    if kind == "histogram":
        return counts.histogram(question.interval_ms)
    if kind == "terms":
        return counts.terms(question.size)
    if kind == "split":
        return counts.split_histogram(question.interval_ms, question.size)
    return float(counts.cardinality())


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
