"""One fixture, two engines: ``es_backend`` is the strict fake Elasticsearch or the real OpenSearch node.

Tests written against it run twice (``[fake]`` and ``[opensearch]``) and read the engine's state
through the same small surface (``docs``, ``count``, ``mapping``, ``add_documents``), answered by
the fake's memory or by the real node's REST API (plain HTTP here, not our client, so our client is
not checked with itself). The real node is shared by the session: it is wiped of every index, data
stream and index template that is not a system one (``.``-prefixed) before and after each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from support.fake_es import FakeElasticsearch


class FakeBackend:
    name = "fake"

    def __init__(self, fake: FakeElasticsearch) -> None:
        self.fake = fake
        self.url = fake.url

    def docs(self, pattern: str = "*") -> list[dict[str, Any]]:
        return self.fake.docs(pattern)

    def count(self, pattern: str = "*") -> int:
        return self.fake.count(pattern)

    def add_documents(self, index: str, docs: list[dict[str, Any]]) -> None:
        self.fake.add_documents(index, docs)

    def mapping(self, index: str) -> dict[str, Any]:
        return dict(self.fake.indices[index].mappings)

    def index_names(self, pattern: str = "*") -> list[str]:
        import fnmatch

        return sorted(n for n in self.fake.indices if fnmatch.fnmatchcase(n, pattern))


class RealBackend:
    """A real node (OpenSearch here) read over its REST API."""

    name = "opensearch"

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def _call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> Any:
        response = self.http.request(method, self.url + path, json=body, timeout=60)
        assert response.status_code in ok, f"{method} {path}: HTTP {response.status_code} {response.text[:500]}"
        return response.json() if response.content else None

    def refresh(self) -> None:
        self._call("POST", "/_refresh")

    def docs(self, pattern: str = "*") -> list[dict[str, Any]]:
        self.refresh()
        body = self._call("POST", f"/{pattern}/_search?expand_wildcards=open",
                          {"size": 10000, "query": {"match_all": {}}})
        return [{"_index": h["_index"], "_id": h["_id"], "_source": h["_source"]} for h in body["hits"]["hits"]]

    def count(self, pattern: str = "*") -> int:
        self.refresh()
        return int(self._call("GET", f"/{pattern}/_count")["count"])

    def add_documents(self, index: str, docs: list[dict[str, Any]]) -> None:
        import json

        lines = "".join(json.dumps({"index": {"_index": index}}) + "\n" + json.dumps(d) + "\n" for d in docs)
        response = self.http.post(f"{self.url}/_bulk?refresh=true", data=lines.encode(),
                                  headers={"content-type": "application/x-ndjson"}, timeout=60)
        assert response.status_code == 200 and not response.json()["errors"], response.text[:500]

    def mapping(self, index: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/{index}/_mapping")[index]["mappings"])

    def index_names(self, pattern: str = "*") -> list[str]:
        rows = self._call("GET", f"/_cat/indices/{pattern}?format=json&h=index")
        return sorted(r["index"] for r in rows)

    def wipe(self) -> None:
        """Delete every non-system data stream, index and index template."""
        self._call("DELETE", "/_data_stream/*", ok=(200, 404))
        indices = [r["index"] for r in self._call("GET", "/_cat/indices?format=json&h=index&expand_wildcards=all")
                   if not r["index"].startswith(".")]
        for start in range(0, len(indices), 50):
            self._call("DELETE", "/" + ",".join(indices[start:start + 50]), ok=(200, 404))
        templates = self._call("GET", "/_index_template").get("index_templates", [])
        for template in templates:
            if not template["name"].startswith("."):
                self._call("DELETE", f"/_index_template/{template['name']}", ok=(200, 404))


EsBackend = FakeBackend | RealBackend


@pytest.fixture(params=["fake", "opensearch"])
def es_backend(request: pytest.FixtureRequest) -> Iterator[EsBackend]:
    """The fake Elasticsearch 8 or the real OpenSearch 2.19 node, each test run against both."""
    if request.param == "fake":
        with FakeElasticsearch() as fake:
            yield FakeBackend(fake)
        return
    backend = RealBackend(request.getfixturevalue("opensearch_url"))
    backend.wipe()
    try:
        yield backend
    finally:
        backend.wipe()


@pytest.fixture
def real_engine(opensearch_url: str) -> Iterator[RealBackend]:
    """Only the real node (for what the fake cannot show: engine-side templates, data streams)."""
    backend = RealBackend(opensearch_url)
    backend.wipe()
    try:
        yield backend
    finally:
        backend.wipe()
