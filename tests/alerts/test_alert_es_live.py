"""The alert engine against a real Elasticsearch (the compose stack): queries and the status index.

Run with ``ES_URL=http://127.0.0.1:9200 ES_USER=elastic ES_PASSWORD=... pytest -m integration
tests/alerts``. Everything created uses a random ``pipeline-it-<hex>`` prefix and is removed.
"""

from __future__ import annotations

import os
import textwrap
import uuid

import pytest
from alerts.conftest import at

from pipeline.alerts.backends.elasticsearch import ElasticsearchBackend
from pipeline.alerts.engine import Engine
from pipeline.alerts.state import RULE

ES_URL = os.environ.get("ES_URL")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not ES_URL, reason="ES_URL is not set: no real Elasticsearch to test against "
                                          "(start the compose stack and export ES_URL, ES_USER, ES_PASSWORD)"),
]


@pytest.fixture
def client():
    from pipeline.elasticsearch.client import client_from_url

    es = client_from_url(ES_URL, user=os.environ.get("ES_USER"), password=os.environ.get("ES_PASSWORD"),
                         api_key=os.environ.get("ES_API_KEY"), ca_certs=os.environ.get("ES_CA_CERT"))
    yield es
    es.close()


@pytest.fixture
def prefix(client):
    name = f"pipeline-it-{uuid.uuid4().hex[:8]}"
    yield name
    client.options(ignore_status=404).indices.delete(index=f"{name}-*", allow_no_indices=True,
                                                     expand_wildcards="all")


def test_frequency_rule_on_a_real_cluster_alerts_once_across_restarts(client, prefix, make_rule):
    keyword = {"type": "keyword"}
    client.indices.create(index=f"{prefix}-2026.11.20", mappings={"properties": {
        "log": {"properties": {"level": keyword}}, "service": {"properties": {"name": keyword}}}})
    operations = []
    for i in range(12):
        operations += [{"index": {"_index": f"{prefix}-2026.11.20"}},
                       {"@timestamp": at(1, i * 5).isoformat(), "log": {"level": "ERROR"},
                        "service": {"name": "api"}}]
    client.bulk(operations=operations, refresh=True)
    rule = make_rule(textwrap.dedent(f"""\
        name: live
        type: frequency
        index: {prefix}-%{{+YYYY.MM.dd}}
        filter: [{{term: {{log.level: ERROR}}}}]
        query_key: service.name
        num_events: 11
        timeframe: {{minutes: 5}}
        alert: [log]
    """))
    backend = ElasticsearchBackend(client, status_index=f"{prefix}-alerts-status")
    engine = Engine(backend, backend.state_store(), clock=lambda: at(3).timestamp())
    engine.rules = {rule.name: rule}
    report = engine.run_rule(rule, at(3), since=at(0))
    assert [(m.key, m.count) for m in report.matches] == [(("api",), 12)]
    assert engine.deliver_due()["sent"] == 1
    restarted = Engine(backend, ElasticsearchBackend(client, f"{prefix}-alerts-status").state_store())
    assert restarted.store.get(RULE, "live", "")["last_end"] == "2026-11-20T10:03:00.000Z"
    assert restarted.run_rule(rule, at(4)).alerts == []
