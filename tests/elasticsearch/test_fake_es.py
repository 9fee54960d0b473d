"""The strict fake Elasticsearch itself: it must refuse what a real cluster refuses, answer real shapes."""

from __future__ import annotations

import http.client
import json

import pytest
from elasticsearch import ApiError, BadRequestError, Elasticsearch, NotFoundError
from support.fake_es import FakeElasticsearch


@pytest.fixture
def es():
    with FakeElasticsearch() as fake:
        yield fake


@pytest.fixture
def client(es):
    return Elasticsearch(es.url, max_retries=0)


def raw(es: FakeElasticsearch, method: str, path: str, body: bytes, ctype: str = "application/x-ndjson"):
    """Send bytes exactly as given (the client would add the final newline itself)."""
    connection = http.client.HTTPConnection("127.0.0.1", es.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": ctype, "Accept": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_root_info_has_product_header_and_version(es, client):
    response = client.info()
    assert response.meta.headers["x-elastic-product"] == "Elasticsearch"
    assert response["version"]["number"] == "8.15.0" and response["tagline"] == "You Know, for Search"


@pytest.mark.parametrize("body, error", [
    (b'{"index":{"_index":"a"}}\n{"x":1}', "terminated by a newline"),
    (b'{"index":{"_index":"a"}}\n{"x":1\n', "x_content_parse_exception"),
    (b'{"index":{"_index":"a","_type":"doc"}}\n{"x":1}\n', "unknown parameter [_type]"),
    (b'{"upsert":{"_index":"a"}}\n{"x":1}\n', "expected one of [create, delete, index, update]"),
    (b'{"index":{}}\n{"x":1}\n', "index is missing"),
    (b'{"index":{"_index":"a"}}\n', "terminated by a newline"),
    (b'{"index":{"_index":"a"}}\n[1,2]\n', "expected START_OBJECT"),
])
def test_malformed_bulk_is_rejected_whole(es, body, error):
    status, payload = raw(es, "POST", "/_bulk", body)
    assert status == 400 and error in str(payload)
    assert payload["status"] == 400 and payload["error"]["root_cause"]
    assert es.count() == 0


def test_bulk_item_results_follow_the_docs(es, client):
    body = (b'{"index":{"_index":"logs-a","_id":"1"}}\n{"m":1}\n'
            b'{"create":{"_index":"logs-a","_id":"1"}}\n{"m":2}\n'
            b'{"delete":{"_index":"logs-a","_id":"nope"}}\n'
            b'{"update":{"_index":"logs-a","_id":"nope"}}\n{"doc":{"m":3}}\n')
    response = client.bulk(operations=body)
    index, create, delete, update = (next(iter(i.values())) for i in response["items"])
    assert response["errors"] is True and isinstance(response["took"], int)
    assert (index["status"], index["result"], index["_version"]) == (201, "created", 1)
    assert create["status"] == 409 and create["error"]["type"] == "version_conflict_engine_exception"
    assert (delete["status"], delete["result"]) == (404, "not_found") and "error" not in delete
    assert update["status"] == 404 and update["error"]["type"] == "document_missing_exception"


def test_incompatible_media_type_is_refused_like_elasticsearch_8(es, client):
    meta, payload = client.transport.perform_request(
        "GET", "/", headers={"accept": "application/vnd.elasticsearch+json; compatible-with=9"})
    assert meta.status == 400 and payload["error"]["type"] == "media_type_header_exception"


def test_search_count_and_aggregations(es, client):
    es.add_documents("logs-2026.11.21", [
        {"@timestamp": "2026-11-21T10:00:00Z", "log": {"level": "ERROR"}, "service": {"name": "auth"}, "ms": 10},
        {"@timestamp": "2026-11-21T10:01:00Z", "log": {"level": "ERROR"}, "service": {"name": "api"}, "ms": 30},
        {"@timestamp": "2026-11-21T10:07:00Z", "log.level": "INFO", "service": {"name": "auth"}, "ms": 20},
    ])
    query = {"bool": {"filter": [{"term": {"log.level": "ERROR"}},
                                 {"range": {"@timestamp": {"gte": "2026-11-21T09:00:00Z", "lt": "now+3650d"}}}]}}
    assert client.count(index="logs-*", query=query)["count"] == 2
    response = client.search(index="logs-*", size=0, query={"match_all": {}}, aggs={
        "by_service": {"terms": {"field": "service.name"}, "aggs": {"slowest": {"max": {"field": "ms"}}}},
        "per_5m": {"date_histogram": {"field": "@timestamp", "fixed_interval": "5m"}},
        "services": {"cardinality": {"field": "service.name"}},
        "avg_ms": {"avg": {"field": "ms"}},
        "levels": {"terms": {"field": "log.level.keyword"}},
    })
    aggs = response["aggregations"]
    assert response["hits"]["total"] == {"value": 3, "relation": "eq"} and response["hits"]["hits"] == []
    assert aggs["by_service"]["buckets"][0] == {"key": "auth", "doc_count": 2, "slowest": {"value": 20.0}}
    assert [b["doc_count"] for b in aggs["per_5m"]["buckets"]] == [2, 1]
    assert aggs["per_5m"]["buckets"][0]["key_as_string"] == "2026-11-21T10:00:00.000Z"
    assert aggs["services"]["value"] == 2 and aggs["avg_ms"]["value"] == 20.0
    assert {b["key"]: b["doc_count"] for b in aggs["levels"]["buckets"]} == {"ERROR": 2, "INFO": 1}


def test_search_rejects_unknown_shapes_and_missing_index(es, client):
    es.add_documents("logs-a", [{"m": 1}])
    with pytest.raises(BadRequestError, match="parsing_exception"):
        client.search(index="logs-a", body={"qeury": {"match_all": {}}})
    with pytest.raises(BadRequestError, match="Unknown aggregation type"):
        client.search(index="logs-a", aggs={"x": {"percentilez": {"field": "m"}}})
    with pytest.raises(BadRequestError, match="fake_es_unsupported"):
        client.search(index="logs-a", query={"query_string": {"query": "a:b AND (c OR d)"}})
    with pytest.raises(NotFoundError):
        client.search(index="missing")
    assert client.search(index="missing", ignore_unavailable=True)["hits"]["total"]["value"] == 0


def test_search_handler_takes_over(es, client):
    seen = []

    def handler(index, body):
        seen.append((index, body))
        return {"took": 1, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                "hits": {"total": {"value": 42, "relation": "eq"}, "max_score": None, "hits": []}}

    es.search_handler = handler
    assert client.count(index="logs-*", query={"match_all": {}})["count"] == 42
    assert seen[0][0] == "logs-*"


def test_templates_policies_cat_and_delete(es, client):
    client.indices.put_index_template(name="t1", index_patterns=["x-*"], priority=5)
    assert client.indices.get_index_template(name="t1")["index_templates"][0]["index_template"]["priority"] == 5
    with pytest.raises(NotFoundError):
        client.indices.get_index_template(name="nope")
    with pytest.raises(BadRequestError, match="invalid action"):
        client.ilm.put_lifecycle(name="p", policy={"phases": {"hot": {"actions": {"delete": {}}}}})
    with pytest.raises(NotFoundError):
        client.ilm.get_lifecycle(name="p")
    es.add_documents("x-1", [{"a": 1}, {"a": 2}])
    rows = client.cat.indices(index="x-*", format="json")
    assert rows[0]["index"] == "x-1" and rows[0]["docs.count"] == "2"
    with pytest.raises(BadRequestError, match="Wildcard"):
        client.indices.delete(index="x-*")
    client.indices.delete(index="x-1")
    with pytest.raises(NotFoundError):
        client.indices.delete(index="x-1")


def test_whole_request_faults_are_consumed_in_order(es, client):
    es.fail_requests(1, status=503)
    with pytest.raises(ApiError) as info:
        client.info()
    assert info.value.meta.status == 503
    assert client.info()["version"]["number"]


def test_terms_order_source_filtering_and_unemulated_parameters(es, client):
    es.add_documents("logs-a", [{"s": "b", "n": 1}, {"s": "a", "n": 2}, {"s": "a", "n": 3}, {"s": "c", "n": 4}])
    by_key = client.search(index="logs-a", size=0, aggs={"s": {"terms": {"field": "s", "order": {"_key": "asc"}}}})
    assert [b["key"] for b in by_key["aggregations"]["s"]["buckets"]] == ["a", "b", "c"]
    rare = client.search(index="logs-a", size=0, aggs={"s": {"terms": {"field": "s", "order": {"_count": "asc"}}}})
    assert rare["aggregations"]["s"]["buckets"][-1] == {"key": "a", "doc_count": 2}
    hits = client.search(index="logs-a", _source=["n"], sort=[{"n": "desc"}], size=2)["hits"]["hits"]
    assert [h["_source"] for h in hits] == [{"n": 4}, {"n": 3}]
    with pytest.raises(BadRequestError, match="fake_es_unsupported"):
        client.search(index="logs-a", aggs={"s": {"terms": {"field": "s", "include": "a.*"}}})
    with pytest.raises(BadRequestError, match="time_zone"):
        client.search(index="logs-a", aggs={"h": {"date_histogram": {"field": "t", "fixed_interval": "1h",
                                                                     "time_zone": "Asia/Shanghai"}}})


# -- aliases, legacy templates, data streams (the elasticsearch output's template/ILM options) -----------
def test_rollover_alias_bootstrap_with_date_math_and_writes_through_the_alias(es, client):
    client.indices.create(index="<app-{now/d}-000001>", aliases={"app": {"is_write_index": True}})
    assert client.indices.exists(index="app").meta.status == 200
    [first] = es.indices
    assert first.startswith("app-") and first.endswith("-000001")
    client.bulk(operations=[{"index": {"_index": "app"}}, {"a": 1}])
    assert es.count(first) == 1
    with pytest.raises(BadRequestError, match="already exists as alias|invalid_alias_name"):
        client.indices.create(index="app")
    assert client.indices.get_alias(name="app").body == {first: {"aliases": {"app": {"is_write_index": True}}}}


def test_alias_without_a_write_index_refuses_writes(es, client):
    client.indices.create(index="a-1", aliases={"both": {}})
    client.indices.create(index="a-2", aliases={"both": {}})
    [item] = client.bulk(operations=[{"index": {"_index": "both"}}, {"a": 1}]).body["items"]
    assert item["index"]["status"] == 400 and "no write index is defined" in item["index"]["error"]["reason"]


def test_create_index_refuses_unknown_body_keys(client):
    with pytest.raises(BadRequestError):
        client.perform_request("PUT", "/x", headers={"content-type": "application/json"}, body={"alias": {}})


def test_legacy_templates_and_existence_checks(es, client):
    assert client.perform_request("HEAD", "/_template/old").meta.status == 404
    client.indices.put_template(name="old", index_patterns=["old-*"], mappings={"properties": {"a": {"type": "long"}}})
    assert client.perform_request("HEAD", "/_template/old").meta.status == 200
    assert client.indices.get_template(name="old").body["old"]["index_patterns"] == ["old-*"]
    with pytest.raises(BadRequestError, match="unknown key"):
        client.perform_request("PUT", "/_template/bad", headers={"content-type": "application/json"},
                               body={"index_patterns": ["x-*"], "template": {}})


def test_data_streams_are_listed(client):
    with FakeElasticsearch(builtin_logs_template=True) as fake:
        streams = Elasticsearch(fake.url, max_retries=0)
        streams.bulk(operations=[{"create": {"_index": "logs-app-default"}}, {"a": 1}])
        assert [d["name"] for d in streams.indices.get_data_stream(name="logs-*").body["data_streams"]] == [
            "logs-app-default"]
