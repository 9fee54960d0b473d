"""Against a real Elasticsearch (the compose stack) or OpenSearch: setup, output, DLQ, archive/restore.

Run with ``ES_URL=http://127.0.0.1:9200 ES_USER=elastic ES_PASSWORD=... pytest -m integration
tests/integration``. Everything created uses a random ``pipeline-it-<hex>`` prefix and is removed.
"""

from __future__ import annotations

import os
import uuid

import pytest

from pipeline.cli import main
from pipeline.elasticsearch.client import product_of
from pipeline.elasticsearch.ism import ism_available
from pipeline.event import Event
from pipeline.queue.dead_letter import DeadLetterReader, queue_dir
from pipeline.testing import build_plugin

ES_URL = os.environ.get("ES_URL")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not ES_URL, reason="ES_URL is not set: no real Elasticsearch to test against "
                                          "(start the compose stack and export ES_URL, ES_USER, ES_PASSWORD)"),
]


def auth_args() -> list[str]:
    args = []
    if os.environ.get("ES_USER"):
        args += ["--user", os.environ["ES_USER"], "--password", os.environ.get("ES_PASSWORD", "")]
    if os.environ.get("ES_API_KEY"):
        args += ["--api-key", os.environ["ES_API_KEY"]]
    if os.environ.get("ES_CA_CERT"):
        args += ["--ca-cert", os.environ["ES_CA_CERT"]]
    return args


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
    client.options(ignore_status=404).indices.delete_index_template(name=f"pipeline-{name}")
    if product_of(client).is_opensearch:  # ES_URL may be OpenSearch: its retention policy is ISM's
        if ism_available(client):
            client.options(ignore_status=404).perform_request("DELETE", f"/_plugins/_ism/policies/{name}")
    else:
        client.options(ignore_status=404).ilm.delete_lifecycle(name=name)


def output_config(prefix: str, extra: str = "") -> str:
    auth = ""
    if os.environ.get("ES_USER"):
        auth = f'user => "{os.environ["ES_USER"]}" password => "{os.environ.get("ES_PASSWORD", "")}"'
    if os.environ.get("ES_CA_CERT"):
        auth += f' ssl_certificate_authorities => ["{os.environ["ES_CA_CERT"]}"]'
    return (f'elasticsearch {{ hosts => ["{ES_URL}"] {auth} index => "{prefix}-%{{+YYYY.MM.dd}}" '
            f'retry_initial_interval => "100ms" {extra} }}')


def test_setup_is_idempotent(client, prefix, capsys):
    args = ["setup", "--es", ES_URL, *auth_args(), "--index-pattern", f"{prefix}-*", "--policy-name", prefix,
            "--replicas", "0"]
    assert main(args) == 0
    assert "created" in capsys.readouterr().out
    assert main(args) == 0
    out = capsys.readouterr().out
    # Template and retention policy; on an OpenSearch without ISM only the template (and a warning).
    policies = 0 if product_of(client).is_opensearch and not ism_available(client) else 1
    assert "created" not in out and "updated" not in out and out.count("unchanged") == 1 + policies


def test_output_indexes_once_and_dead_letters_mapping_errors(client, prefix, tmp_path, capsys):
    main(["setup", "--es", ES_URL, *auth_args(), "--index-pattern", f"{prefix}-*", "--policy-name", prefix,
          "--replicas", "0"])
    out = build_plugin("output", output_config(prefix, 'document_id => "%{id}"'), path_data=tmp_path)
    batch = [Event({"@timestamp": "2026-11-21T10:00:00Z", "id": f"d{i}", "response": 200}) for i in range(50)]
    out.receive(batch)
    out.receive([e.clone() for e in batch])  # replay: same ids, no duplicates
    out.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "id": "bad", "response": "not-a-number"})])
    out.close()
    client.indices.refresh(index=f"{prefix}-*")
    assert client.count(index=f"{prefix}-*")["count"] == 50
    [entry] = [e for e, _ in DeadLetterReader(queue_dir(tmp_path, "main")).read()]
    assert entry.event["id"] == "bad" and "400" in entry.reason


def test_archive_and_restore_round_trip(client, prefix, tmp_path, capsys):
    index = f"{prefix}-2020.01.01"
    client.bulk(operations=[x for i in range(20) for x in ({"index": {"_index": index, "_id": str(i)}}, {"n": i})],
                refresh=True)
    assert main(["archive", "--es", ES_URL, *auth_args(), "--older-than", "30d", "--to", str(tmp_path),
                 "--index-pattern", f"{prefix}-*"]) == 0
    assert not client.indices.exists(index=index)
    assert main(["restore", str(tmp_path / f"{index}.ndjson.gz"), "--es", ES_URL, *auth_args()]) == 0
    client.indices.refresh(index=index)
    assert client.count(index=index)["count"] == 20
