"""new_term's ``use_keyword_postfix`` (ElastAlert2 2.19 ``NewTermsRule.get_all_terms``): the terms of
``<field>.keyword`` by default, the field as written when it already ends in ``.keyword`` or the option
is false; with ``use_terms_query`` the per-run query uses query_key as written (``get_hits_terms``).

On Elasticsearch/OpenSearch it is the case users have: a string field dynamically mapped as ``text`` with
a ``keyword`` sub-field, whose terms cannot be aggregated on the text field itself. On the local index a
string is its own keyword: ``user`` and ``user.keyword`` mean the same field.
"""

from __future__ import annotations

import json
import textwrap
import uuid
from typing import Any

import pytest
from alerts.conftest import at, evaluate

from pipeline.alerts.backends.elasticsearch import ElasticsearchBackend
from pipeline.alerts.engine import Engine
from pipeline.alerts.state import SQLiteStateStore

USERS = [(-30, "Alice"), (-20, "Bob"), (2, "Alice"), (3, "Eve Smith"), (4, "Eve Smith")]


def new_term_rule(index: str, extra: str = "", fields: str = "[user]") -> str:
    return textwrap.dedent(f"""\
        name: new-user
        type: new_term
        index: {index}
        fields: {fields}
        terms_window_size: {{hours: 1}}
        run_every: {{minutes: 5}}
        realert: 0
        alert: [stdout]
    """) + extra


class RecordingClient:
    """Stands for the Elasticsearch client: records the terms field of each aggregation, finds nothing."""

    def __init__(self) -> None:
        self.terms_fields: list[str] = []

    def search(self, **kwargs: Any) -> dict[str, Any]:
        for agg in (kwargs.get("aggs") or {}).values():
            if "terms" in agg:
                self.terms_fields.append(agg["terms"]["field"])
        return {"aggregations": {}, "hits": {"hits": []}}


@pytest.mark.parametrize(("fields", "extra", "expected"), [
    ("[user]", "", ["user.keyword", "user.keyword"]),
    ("[user.keyword]", "", ["user.keyword", "user.keyword"]),
    ("[user.raw]", "", ["user.raw.keyword", "user.raw.keyword"]),  # as add_keyword_postfix: only .keyword
    ("[user]", "use_keyword_postfix: false\n", ["user", "user"]),
    ("[client.ip, user]", "", ["client.ip.keyword", "client.ip.keyword", "user.keyword", "user.keyword"]),
])
def test_elasticsearch_terms_are_asked_of_the_fields_elastalert2_asks(make_rule, fields, extra, expected):
    client = RecordingClient()
    rule = make_rule(new_term_rule("logs-*", extra, fields))
    report = evaluate(Engine(ElasticsearchBackend(client), SQLiteStateStore(":memory:"), dry_run=True),
                      rule, at(0), at(5))
    assert report.error is None
    # First the look-back of terms_window_size, then the run's own terms, per field.
    assert client.terms_fields == expected


def test_use_terms_query_aggregates_the_query_key_as_written_after_the_postfixed_look_back(make_rule):
    client = RecordingClient()
    rule = make_rule(new_term_rule("logs-*", "query_key: user.keyword\nuse_terms_query: true\n",
                                   "[user.keyword]"))
    evaluate(Engine(ElasticsearchBackend(client), SQLiteStateStore(":memory:"), dry_run=True), rule, at(0), at(5))
    assert client.terms_fields == ["user.keyword", "user.keyword"]
    client.terms_fields.clear()
    plain = make_rule(new_term_rule("logs-*", "query_key: user\nuse_terms_query: true\n"))
    evaluate(Engine(ElasticsearchBackend(client), SQLiteStateStore(":memory:"), dry_run=True), plain, at(0), at(5))
    assert client.terms_fields == ["user.keyword", "user"]


def test_on_a_real_node_a_dynamically_mapped_text_field_finds_new_terms_through_its_keyword(
        opensearch_url, make_rule):
    from support.node_rest import call

    from pipeline.elasticsearch.client import client_from_url

    index = f"kwpostfix-{uuid.uuid4().hex[:8]}"
    lines = []
    for minute, user in USERS:  # no template matches: dynamic mapping, text + keyword sub-field
        lines += [json.dumps({"index": {"_index": index}}),
                  json.dumps({"@timestamp": at(minute).isoformat(), "user": user})]
    call(opensearch_url, "POST", "/_bulk?refresh=true", ndjson="\n".join(lines) + "\n")
    client = client_from_url(opensearch_url, max_retries=0)
    try:
        mapping = call(opensearch_url, "GET", f"/{index}/_mapping")[index]["mappings"]["properties"]["user"]
        assert mapping["type"] == "text" and mapping["fields"]["keyword"]["type"] == "keyword"
        backend = ElasticsearchBackend(client)
        rule = make_rule(new_term_rule(index))
        report = evaluate(Engine(backend, SQLiteStateStore(":memory:"), dry_run=True), rule, at(0), at(5))
        assert report.error is None
        assert [(m.details["new_field"], m.details["new_value"], m.count) for m in report.matches] == [
            ("user", "Eve Smith", 2)]
        assert report.matches[0].event["user"] == "Eve Smith"
        # The field as written is a text field: no terms aggregation on it (ElastAlert2 fails the same way).
        plain = make_rule(new_term_rule(index, "use_keyword_postfix: false\n").replace("new-user", "plain"))
        failed = evaluate(Engine(backend, SQLiteStateStore(":memory:"), dry_run=True), plain, at(0), at(5))
        assert failed.error is not None and "fielddata" in str(failed.error).lower()
    finally:
        call(opensearch_url, "DELETE", f"/{index}")
        client.close()


@pytest.mark.parametrize("fields", ["[user]", "[user.keyword]"])
def test_on_the_local_index_user_and_user_keyword_are_the_same_field(write_events, make_rule, dry_engine, fields):
    write_events([(at(minute), {"user": user}) for minute, user in USERS])
    rule = make_rule(new_term_rule("logs-*", "", fields))
    report = evaluate(dry_engine, rule, at(0), at(5))
    assert [(m.details["new_value"], m.count) for m in report.matches] == [("Eve Smith", 2)]


def test_on_a_real_node_a_keyword_mapped_field_without_a_keyword_sub_field_is_read_as_written(
        opensearch_url, make_rule, caplog):
    # Our own index template maps strings as keyword, with no .keyword sub-field: ElastAlert2's
    # `<field>.keyword` would find no terms there. The field itself is what the rule means.
    from support.node_rest import call

    from pipeline.elasticsearch.client import client_from_url

    index = f"kwmapped-{uuid.uuid4().hex[:8]}"
    call(opensearch_url, "PUT", f"/{index}", body={"mappings": {"properties": {
        "@timestamp": {"type": "date"}, "user": {"type": "keyword"}}}})
    lines = []
    for minute, user in USERS:
        lines += [json.dumps({"index": {"_index": index}}),
                  json.dumps({"@timestamp": at(minute).isoformat(), "user": user})]
    call(opensearch_url, "POST", "/_bulk?refresh=true", ndjson="\n".join(lines) + "\n")
    client = client_from_url(opensearch_url, max_retries=0)
    try:
        rule = make_rule(new_term_rule(index))
        with caplog.at_level("WARNING", "pipeline.alerts"):
            report = evaluate(Engine(ElasticsearchBackend(client), SQLiteStateStore(":memory:"), dry_run=True),
                              rule, at(0), at(5))
        assert report.error is None
        assert [(m.details["new_value"], m.count) for m in report.matches] == [("Eve Smith", 2)]
        assert f"{index} has no field user.keyword" in caplog.text
    finally:
        call(opensearch_url, "DELETE", f"/{index}")
        client.close()
