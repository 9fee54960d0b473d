"""The same rule over the same events gives the same alerts on the local index and on a cluster
(the strict fake Elasticsearch and the real OpenSearch node), with counts and aggregations computed by the server."""

from __future__ import annotations

import json

import pytest
from alerts.conftest import at
from support.fake_es import FakeElasticsearch

from pipeline import serde
from pipeline.alerts.backends.elasticsearch import ElasticsearchBackend
from pipeline.alerts.engine import Engine
from pipeline.alerts.state import SQLiteStateStore
from pipeline.elasticsearch.client import client_from_url
from pipeline.elasticsearch.setup import run_setup
from pipeline.event import Event
from pipeline.serde import event_json

HEAD = "index: logs-%{+YYYY.MM.dd}\nalert: [stdout]\nrealert: 0\n"
RULES = {
    "frequency": "type: frequency\nfilter: [{term: {log.level: ERROR}}]\nquery_key: service.name\n"
                 "num_events: 2\ntimeframe: {minutes: 5}\ntop_count_keys: [host.name]\n",
    "any": "type: any\nfilter: ['log.level:ERROR']\nquery_key: service.name\n",
    "spike": "type: spike\ntimeframe: {minutes: 5}\nspike_height: 2\nspike_type: both\nquery_key: service.name\n",
    "flatline": "type: flatline\nthreshold: 2\ntimeframe: {minutes: 5}\nquery_key: service.name\n",
    "blacklist": "type: blacklist\ncompare_key: host.name\nblacklist: [h1]\n",
    "whitelist": "type: whitelist\ncompare_key: host.name\nwhitelist: [h0, h1]\nignore_null: true\n",
    "change": "type: change\ncompare_key: host.name\nquery_key: service.name\nignore_null: true\n",
    # Our index template maps strings as keyword (no .keyword sub-field): ElastAlert2's postfix is turned off.
    "new_term": "type: new_term\nfields: [host.name]\nterms_window_size: {hours: 1}\nuse_keyword_postfix: false\n",
    "cardinality": "type: cardinality\ncardinality_field: host.name\nmax_cardinality: 1\n"
                   "timeframe: {minutes: 5}\nquery_key: service.name\n",
    "metric_aggregation": "type: metric_aggregation\nmetric_agg_key: latency\nmetric_agg_type: max\n"
                          "max_threshold: 250\nquery_key: service.name\nbucket_interval: {minutes: 5}\n",
    "percentage_match": "type: percentage_match\nmatch_bucket_filter: [{term: {log.level: ERROR}}]\n"
                        "max_percentage: 50\nbucket_interval: {minutes: 5}\n",
}


def events() -> list:
    rows = []
    for minute in range(0, 30):
        for n in range(3 if minute < 10 or minute > 20 else 1):
            service = "api" if (minute + n) % 3 else "db"
            level = "ERROR" if minute in range(12, 16) or (minute > 25 and n == 0) else "INFO"
            host = f"h{(minute // 7 + n) % (4 if minute > 15 else 2)}"
            rows.append((at(minute, n * 10), {"log": {"level": level}, "service": {"name": service},
                                               "host": {"name": host}, "latency": 100 + minute * 10 + n}))
    return rows


@pytest.fixture
def es():
    with FakeElasticsearch() as server:
        yield server


def signature(report) -> list:
    return sorted((m.time, m.key, m.count, json.dumps(m.details, sort_keys=True, default=str),
                   json.dumps(m.event, sort_keys=True)) for m in report.matches)


@pytest.mark.parametrize("kind", sorted(RULES))
def test_same_rule_same_events_same_alerts_on_both_backends(kind, es_backend, write_events, make_rule, backend):
    rows = events()
    write_events(rows)
    client = client_from_url(es_backend.url, max_retries=0)
    run_setup(client, replicas=0, ilm=False)  # as users do: our template maps these fields
    by_day: dict[str, list] = {}
    for when, fields in rows:
        # As the pipeline's elasticsearch output sends them: the event's JSON.
        by_day.setdefault(f"logs-{when:%Y.%m.%d}", []).append(
            serde.loads(event_json(Event({**fields, "@timestamp": when}))))
    for index, docs in by_day.items():
        es_backend.add_documents(index, docs)
    rule = make_rule(f"name: {kind}\n" + HEAD + RULES[kind])
    cluster = ElasticsearchBackend(client)
    local = Engine(backend, SQLiteStateStore(":memory:"), dry_run=True).run_rule(rule, at(30), since=at(0))
    remote = Engine(cluster, SQLiteStateStore(":memory:"), dry_run=True).run_rule(rule, at(30), since=at(0))
    assert local.error is None and remote.error is None
    assert local.matches, f"{kind}: the events should make this rule match"
    assert signature(local) == signature(remote)
    assert [(a.subject, a.text) for a in local.alerts] == [(a.subject, a.text) for a in remote.alerts]


def test_counts_and_aggregations_are_pushed_to_the_server(es, make_rule):
    es.add_documents("logs-2026.11.20", [{"@timestamp": "2026-11-20T10:01:00.000Z", "log": {"level": "ERROR"},
                                          "service": {"name": "api"}}] * 6)
    es.add_documents("logs-2026.11.01", [{"@timestamp": "2026-11-01T10:01:00Z", "service": {"name": "old"}}])
    rule = make_rule("name: f\n" + HEAD + RULES["frequency"] + "use_terms_query: true\n")
    backend = ElasticsearchBackend(client_from_url(es.url, max_retries=0))
    report = Engine(backend, SQLiteStateStore(":memory:"), dry_run=True).run_rule(rule, at(5), since=at(0))
    assert [m.key for m in report.matches] == [("api",)]
    searches = [r for r in es.requests if r.path.endswith(("/_search", "/_count"))]
    # Only the days around the window (±14 h for indices cut in a local time zone), never logs-*.
    assert searches and {r.path.split("/")[1] for r in searches} == {"logs-2026.11.19,logs-2026.11.20,logs-2026.11.21"}
    bodies = [json.loads(r.body) for r in searches if r.body]
    documents_fetched = [b.get("size") for b in bodies if "aggs" not in b and "size" in b]
    assert documents_fetched == [1]  # only the newest event shown in the alert; counting is done by ES
    assert any("terms" in json.dumps(b.get("aggs", {})) for b in bodies)


def test_a_failing_cluster_is_a_recorded_query_error(es, make_rule):
    rule = make_rule("name: f\n" + HEAD + RULES["frequency"])
    es.fail_requests(3, status=503)
    backend = ElasticsearchBackend(client_from_url(es.url, max_retries=0))
    report = Engine(backend, SQLiteStateStore(":memory:"), dry_run=True).run_rule(rule, at(5), since=at(0))
    assert report.error and "Elasticsearch" in report.error and report.steps == 0

