"""The Elasticsearch state store (``pipeline-alerts-status``) over a stand-in client recording the calls."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import NotFoundError

from pipeline.alerts.backends.elasticsearch import ElasticsearchStateStore
from pipeline.alerts.state import OUTBOX, RULE


def not_found() -> NotFoundError:
    meta = ApiResponseMeta(status=404, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                           node=NodeConfig("http", "127.0.0.1", 9200))
    return NotFoundError("not_found", meta, {"found": False})


class StandInClient:
    """Just the document APIs the store uses, with the keyword/double semantics of its mapping."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.created: dict[str, Any] = {}
        self.indices = SimpleNamespace(exists=lambda index: index in self.created,
                                       create=lambda index, mappings: self.created.__setitem__(index, mappings))

    def index(self, index: str, id: str, document: dict[str, Any], refresh: bool) -> None:
        assert refresh is True and set(document) == {"kind", "rule", "key", "due", "doc"}
        self.docs[id] = document

    def get(self, index: str, id: str) -> dict[str, Any]:
        if id not in self.docs:
            raise not_found()
        return {"_id": id, "_source": self.docs[id]}

    def delete(self, index: str, id: str, refresh: bool) -> None:
        if self.docs.pop(id, None) is None:
            raise not_found()

    def search(self, index: str, query: dict[str, Any], size: int, sort: list[Any]) -> dict[str, Any]:
        def keep(doc: dict[str, Any]) -> bool:
            for clause in query["bool"]["filter"]:
                if "term" in clause:
                    (name, value), = clause["term"].items()
                    if doc[name] != value:
                        return False
                else:
                    due = doc["due"]
                    if due is None or due > clause["range"]["due"]["lte"]:
                        return False
            return True

        hits = sorted((d for d in self.docs.values() if keep(d)), key=lambda d: (d["due"] is None, d["due"] or 0))
        return {"hits": {"hits": [{"_source": d} for d in hits[:size]]}}


@pytest.fixture
def store():
    client = StandInClient()
    return ElasticsearchStateStore(client, "pipeline-alerts-status"), client


def test_records_round_trip_and_the_index_is_created_with_a_strict_mapping(store):
    state, client = store
    state.put(RULE, "r1", "", {"last_end": "2026-11-20T10:00:00.000Z", "memory": {"a": [1]}})
    assert state.get(RULE, "r1", "") == {"last_end": "2026-11-20T10:00:00.000Z", "memory": {"a": [1]}}
    assert state.get(RULE, "other", "") is None
    mapping = client.created["pipeline-alerts-status"]
    assert mapping["dynamic"] == "strict" and mapping["properties"]["doc"]["enabled"] is False


def test_due_records_are_listed_oldest_first_and_deleted(store):
    state, _ = store
    state.put(OUTBOX, "r1", "b", {"n": 2}, due=200.0)
    state.put(OUTBOX, "r1", "a", {"n": 1}, due=100.0)
    state.put(OUTBOX, "r2", "c", {"n": 3}, due=900.0)
    assert [k for _, k, _ in state.list(OUTBOX, due_before=500)] == ["a", "b"]
    assert [k for _, k, _ in state.list(OUTBOX, rule="r2")] == ["c"]
    state.delete(OUTBOX, "r1", "a")
    state.delete(OUTBOX, "r1", "a")  # deleting twice is fine
    assert [k for _, k, _ in state.list(OUTBOX)] == ["b", "c"]
