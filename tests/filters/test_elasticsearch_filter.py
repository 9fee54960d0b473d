"""elasticsearch filter, built from config text, against a real OpenSearch node (scripts/services.sh); the
client's product-aware transport talks to it directly."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.node_rest import call

from pipeline.errors import ConfigErrors
from pipeline.testing import build_plugin, run_filters

pytestmark = pytest.mark.real_service


@pytest.fixture(scope="module")
def node(opensearch_url: str) -> Iterator[tuple[str, str]]:
    """(node URL, an index of 'start' events with an operation id and a timestamp)."""
    index = f"es-filter-{uuid.uuid4().hex[:8]}"
    docs = [("s1", {"@timestamp": "2024-05-01T10:00:00Z", "type": "start", "opid": "op1", "user": {"name": "ann"}}),
            ("s2", {"@timestamp": "2024-05-01T10:05:00Z", "type": "start", "opid": "op2", "user": {"name": "bo"}}),
            ("s3", {"@timestamp": "2024-05-01T10:09:00Z", "type": "start", "opid": "op2", "user": {"name": "cy"}})]
    lines = []
    for doc_id, doc in docs:
        lines += [json.dumps({"index": {"_index": index, "_id": doc_id}}), json.dumps(doc)]
    call(opensearch_url, "POST", "/_bulk?refresh=true", ndjson="\n".join(lines) + "\n")
    yield opensearch_url, index
    call(opensearch_url, "DELETE", f"/{index}")


def _lookup(node: tuple[str, str], options: str, event: dict) -> dict:
    url, index = node
    [out] = run_filters(f'elasticsearch {{ hosts => ["{url}"] index => "{index}" {options} }}', [event])
    return out


def test_lucene_query_copies_fields_of_the_newest_hit(node: tuple[str, str]) -> None:
    out = _lookup(node, 'query => "type:start AND opid:%{[opid]}" fields => { "[user][name]" => "started_by" '
                        '"@timestamp" => "started" } docinfo_fields => { "_id" => "start_id" } add_tag => ["found"]',
                  {"opid": "op2", "type": "end"})
    assert out.get("started_by") == "cy" and out.get("started") == "2024-05-01T10:09:00Z"
    assert out.get("start_id") == "s3" and out.tags == ["found"]


def test_several_hits_give_arrays_in_sort_order(node: tuple[str, str]) -> None:
    out = _lookup(node, 'query => "opid:%{[opid]}" result_size => 2 sort => "@timestamp:asc" '
                        'fields => { "[user][name]" => "users" }', {"opid": "op2"})
    assert out.get("users") == ["bo", "cy"]


def test_nothing_found_leaves_the_event_untouched(node: tuple[str, str]) -> None:
    out = _lookup(node, 'query => "opid:%{[opid]}" fields => { "opid" => "x" } add_tag => ["found"]', {"opid": "op9"})
    assert out.get("x") is None and out.tags == []


def test_query_template_with_aggregations(node: tuple[str, str], tmp_path: Path) -> None:
    template = tmp_path / "q.json"
    template.write_text('{ "size": 0, "query": { "term": { "opid.keyword": "%{[opid]}" } },'
                        ' "aggs": { "users": { "cardinality": { "field": "user.name.keyword" } } } }')
    out = _lookup(node, f'query_template => "{template}" aggregation_fields => {{ "users" => "[stats][users]" }}',
                  {"opid": "op2"})
    assert out.get("[stats][users]") == {"value": 2}


def test_a_bad_query_tags_the_event_and_it_goes_on(node: tuple[str, str], caplog: pytest.LogCaptureFixture) -> None:
    out = _lookup(node, 'query => "opid:(%{[opid]}" fields => { "opid" => "x" }', {"opid": "op1"})
    assert out.tags == ["_elasticsearch_lookup_failure"] and out.get("opid") == "op1"
    assert "failed to query elasticsearch" in caplog.text


def test_an_unreachable_cluster_tags_with_tag_on_failure() -> None:
    [out] = run_filters('elasticsearch { hosts => ["http://127.0.0.1:9"] query => "a:b" tag_on_failure => ["lookup"] }',
                        [{"a": 1}])
    assert out.tags == ["lookup"]


@pytest.mark.parametrize(("options", "message"), [
    ("", "Use exactly one"),
    ('query => "a" query_template => "/tmp/x.json"', "Use exactly one"),
    ('query_template => "/nonexistent/q.json"', "cannot be read"),
    ('query => "a" query_type => "esql"', "not ES|QL"),
    ('query => "a" ssl_keystore_path => "/k.jks"', "ssl_keystore_path: no such file '/k.jks'"),
])
def test_config_errors(options: str, message: str) -> None:
    with pytest.raises(ConfigErrors, match=message):
        build_plugin("filter", f"elasticsearch {{ {options} }}")
