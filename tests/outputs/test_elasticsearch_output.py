"""The elasticsearch output against the strict fake Elasticsearch: shapes, retries, DLQ, none lost."""

from __future__ import annotations

import logging
import random
import threading
from pathlib import Path

import pytest
from support.fake_es import BulkItem, FakeElasticsearch, iter_ndjson
from support.polling import wait_until

from pipeline.errors import ConfigErrors
from pipeline.event import Event
from pipeline.queue.dead_letter import DeadLetterReader, queue_dir
from pipeline.testing import build_plugin

FAST_RETRY = 'retry_initial_interval => "5ms" retry_max_interval => "40ms"'


@pytest.fixture
def es():
    with FakeElasticsearch() as fake:
        yield fake


def make_output(hosts: list[str] | str, data: Path, options: str = "", *, register: bool = True):
    hosts_list = hosts if isinstance(hosts, list) else [hosts]
    quoted = ", ".join(f'"{h}"' for h in hosts_list)
    return build_plugin("output", f"elasticsearch {{ hosts => [{quoted}] {FAST_RETRY} {options} }}",
                        path_data=data, register=register)


def events(count: int, **extra) -> list[Event]:
    return [Event({"@timestamp": "2026-11-21T10:00:00Z", "id": f"doc-{i}", "message": f"line {i}", **extra})
            for i in range(count)]


def dead_letters(data: Path) -> list:
    return [entry for entry, _ in DeadLetterReader(queue_dir(data, "main")).read()]


def assert_none_lost(es: FakeElasticsearch, data: Path, sent: list[Event]) -> None:
    """Every event is indexed exactly once under its id, or is in the DLQ; nothing else exists."""
    stored = es.docs()
    ids = [d["_id"] for d in stored]
    assert len(ids) == len(set(ids)), "a document was indexed twice"
    dead = {e.event["id"] for e in dead_letters(data)}
    assert set(ids) & dead == set()
    assert set(ids) | dead == {e.get("id") for e in sent}


# -- options -----------------------------------------------------------------------
def test_defaults_follow_logstash(tmp_path):
    out = build_plugin("output", "elasticsearch { }", path_data=tmp_path, register=False)
    opts = out.options
    assert opts.hosts == ["http://127.0.0.1:9200"]
    assert opts.index == "logs-%{+YYYY.MM.dd}"
    assert opts.action.text == "index"
    assert (opts.retry_initial_interval, opts.retry_max_interval) == (2, 64)
    assert opts.bulk_max_bytes == 20 * 1024 * 1024
    assert opts.dlq_on_failed_indexname_interpolation is True


@pytest.mark.parametrize("text, message", [
    ('action => "upsert"', "action must be one of"),
    ('action => "update"', "needs document_id"),
    ("dlq_custom_codes => [409]", "cannot be dead-lettered"),
    ('index_timezone => "Mars/Olympus"', "unknown timezone"),
    ('retry_initial_interval => "10s" retry_max_interval => "1s"', "retry_max_interval"),
    ('cloud_auth => "no-colon"', "cloud_auth must be user:password"),
    ('ssl_certificate => "/etc/hosts"', "ssl_certificate and ssl_key"),
])
def test_invalid_options_are_config_errors(tmp_path, text, message):
    with pytest.raises(ConfigErrors) as info:
        out = build_plugin("output", f"elasticsearch {{ {text} }}", path_data=tmp_path, register=False)
        out.register()
    assert message in str(info.value)


# -- request shapes ------------------------------------------------------------------
def test_bulk_lines_carry_index_id_routing_pipeline_and_no_metadata(es, tmp_path):
    out = make_output(es.url, tmp_path, 'document_id => "%{id}" routing => "%{id}" pipeline => "logs-ingest"')
    batch = events(3)
    batch[0].metadata["secret"] = "never sent"
    out.receive(batch)
    out.close()
    bulk = [r for r in es.requests if r.path == "/_bulk"]
    assert len(bulk) == 1
    lines = list(iter_ndjson(bulk[0].body))
    assert lines[0] == {"index": {"_index": "logs-2026.11.21", "_id": "doc-0", "routing": "doc-0",
                                  "pipeline": "logs-ingest"}}
    assert lines[1]["@timestamp"] == "2026-11-21T10:00:00.000Z"
    assert all("@metadata" not in line for line in lines)
    assert bulk[0].headers["content-type"].startswith("application/vnd.elasticsearch+x-ndjson")
    assert sorted(d["_id"] for d in es.docs("logs-2026.11.21")) == ["doc-0", "doc-1", "doc-2"]
    assert out.stats.indexed == 3


def test_index_timezone_rolls_daily_index_at_local_midnight(es, tmp_path):
    late_utc = Event({"@timestamp": "2026-11-20T17:30:00Z", "message": "01:30 in Shanghai"})
    utc_out = make_output(es.url, tmp_path / "a")
    utc_out.receive([late_utc.clone()])
    utc_out.close()
    local_out = make_output(es.url, tmp_path / "b", 'index_timezone => "Asia/Shanghai"')
    local_out.receive([late_utc.clone()])
    local_out.close()
    assert es.count("logs-2026.11.20") == 1
    assert es.count("logs-2026.11.21") == 1


def test_update_with_doc_as_upsert_and_delete(es, tmp_path):
    upsert = make_output(es.url, tmp_path / "u", 'action => "update" document_id => "%{id}" doc_as_upsert => true')
    upsert.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "id": "a", "n": 1})])
    upsert.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "id": "a", "m": 2})])
    upsert.close()
    [doc] = es.docs()
    assert doc["_source"]["n"] == 1 and doc["_source"]["m"] == 2
    delete = make_output(es.url, tmp_path / "d", 'action => "delete" document_id => "%{id}"')
    delete.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "id": "a"})])
    delete.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "id": "a"})])  # already gone: fine
    delete.close()
    assert es.count() == 0
    assert delete.stats.dead_lettered == 0


# -- whole-request failures: retried, blocking, nothing lost -----------------------------
@pytest.mark.parametrize("status", [429, 502, 503])
def test_whole_request_failures_are_retried_until_accepted(es, tmp_path, status):
    out = make_output(es.url, tmp_path, 'document_id => "%{id}"')
    es.fail_requests(3, status=status, only="_bulk")
    sent = events(20)
    out.receive(sent)
    out.close()
    assert out.stats.bulk_request_failures == 3
    assert out.stats.statuses[status] == 3
    assert es.count() == 20
    assert_none_lost(es, tmp_path, sent)


def test_dropped_connection_after_indexing_does_not_duplicate_with_document_id(es, tmp_path):
    out = make_output(es.url, tmp_path, 'document_id => "%{id}"')
    es.drop_connections(2, only="_bulk")
    sent = events(50)
    out.receive(sent)
    out.close()
    assert out.stats.bulk_request_failures == 2
    assert es.bulk_requests == 3  # applied twice without an answer, then answered
    assert_none_lost(es, tmp_path, sent)
    assert es.count() == 50


def test_slow_response_past_timeout_is_retried(es, tmp_path):
    out = make_output(es.url, tmp_path, 'document_id => "%{id}" timeout => "300ms"')
    es.slow_requests(1, delay=1.0)
    sent = events(5)
    out.receive(sent)
    out.close()
    assert out.stats.bulk_request_failures >= 1
    assert_none_lost(es, tmp_path, sent)


def test_receive_blocks_while_elasticsearch_is_down_then_delivers(tmp_path, free_port):
    url = f"http://127.0.0.1:{free_port}"
    out = make_output(url, tmp_path, 'document_id => "%{id}"')
    sent = events(10)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (out.receive(sent), done.set()), daemon=True)
    worker.start()
    # Until the first attempt failed (a loaded machine may not have made it 0.3 s after the start).
    wait_until(lambda: out.stats.bulk_request_failures >= 1, "a failed bulk request", 30)
    assert not done.is_set(), "receive returned while Elasticsearch was unreachable"
    fake = FakeElasticsearch().start(port=free_port)
    try:
        assert done.wait(20), "receive did not finish once Elasticsearch came up"
        out.close()
        assert fake.count() == 10
    finally:
        fake.stop()


def test_failover_to_a_live_host(es, tmp_path, free_port):
    out = make_output([f"http://127.0.0.1:{free_port}", es.url], tmp_path, 'document_id => "%{id}"')
    sent = events(30)
    for start in range(0, 30, 5):
        out.receive(sent[start:start + 5])
    out.close()
    assert_none_lost(es, tmp_path, sent)
    assert es.count() == 30


# -- partial failures ----------------------------------------------------------------------
def test_item_failures_retry_429_dead_letter_400_404_and_accept_409_on_create(es, tmp_path):
    out = make_output(es.url, tmp_path, 'action => "create" document_id => "%{id}"')
    es.add_documents("logs-2026.11.21", [])
    faults = {"doc-1": 400, "doc-2": 404, "doc-3": 429, "doc-4": 409}
    first_request = {}

    def rule(item: BulkItem) -> int | None:
        first_request.setdefault("n", item.request_number)
        if item.id == "doc-3" and item.request_number > first_request["n"] + 1:
            return None  # 429 twice, then accepted
        return faults.get(item.id)

    es.fail_items(rule)
    sent = events(6)
    out.receive(sent)
    out.close()
    dead = {e.event["id"]: e for e in dead_letters(tmp_path)}
    assert set(dead) == {"doc-1", "doc-2"}
    assert "status: 400" in dead["doc-1"].reason and "document_parsing_exception" in dead["doc-1"].reason
    assert "status: 404" in dead["doc-2"].reason
    assert dead["doc-1"].plugin_type == "elasticsearch"
    assert out.stats.duplicates == 1
    assert out.stats.retried_items == 2
    assert {d["_id"] for d in es.docs()} == {"doc-0", "doc-3", "doc-5"}
    # only the failed item was re-sent
    retried = [r for r in es.requests if r.path == "/_bulk"][1:]
    assert all(len(list(iter_ndjson(r.body))) == 2 for r in retried)


def test_custom_dlq_codes(es, tmp_path):
    out = make_output(es.url, tmp_path, "dlq_custom_codes => [403]")
    es.fail_items(lambda item: 403 if item.source.get("id") == "doc-0" else None)
    out.receive(events(2))
    out.close()
    assert [e.event["id"] for e in dead_letters(tmp_path)] == ["doc-0"]
    assert es.count() == 1


def test_mapping_conflict_goes_to_dlq_with_reason(es, tmp_path):
    out = make_output(es.url, tmp_path)
    out.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "error": {"code": 1}})])
    out.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "error": "plain string"})])
    out.close()
    [entry] = dead_letters(tmp_path)
    assert entry.event["error"] == "plain string"
    assert "document_parsing_exception" in entry.reason


def test_unresolved_index_placeholder_and_uppercase_index_go_to_dlq(es, tmp_path):
    out = make_output(es.url, tmp_path, 'index => "%{service}-%{+YYYY.MM.dd}"')
    out.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "message": "no service field"}),
                 Event({"@timestamp": "2026-11-21T10:00:00Z", "service": "Auth"}),
                 Event({"@timestamp": "2026-11-21T10:00:00Z", "service": "auth"})])
    out.close()
    reasons = sorted(e.reason for e in dead_letters(tmp_path))
    assert len(reasons) == 2
    assert "Badly formatted index, after interpolation still contains placeholder: [%{service}-2026.11.21]" in reasons[0]
    assert "invalid_index_name_exception" in reasons[1] and "must be lowercase" in reasons[1]
    assert es.count("auth-2026.11.21") == 1
    assert not any("%{" in r.body.decode() for r in es.requests if r.path == "/_bulk")


def test_unresolved_document_id_is_dead_lettered_not_overwritten(es, tmp_path):
    out = make_output(es.url, tmp_path, 'document_id => "%{[fingerprint]}"')
    out.receive(events(3))
    out.close()
    assert es.count() == 0
    assert len(dead_letters(tmp_path)) == 3


def test_413_splits_the_batch_and_dead_letters_a_single_oversized_event(es, tmp_path):
    es.max_content_length = 2000
    out = make_output(es.url, tmp_path, 'document_id => "%{id}"')
    sent = events(30) + [Event({"@timestamp": "2026-11-21T10:00:00Z", "id": "huge", "message": "x" * 5000})]
    out.receive(sent)
    out.close()
    assert out.stats.bulk_splits >= 2
    [entry] = dead_letters(tmp_path)
    assert entry.event["id"] == "huge" and "413" in entry.reason
    assert es.count() == 30
    assert_none_lost(es, tmp_path, sent)


def test_bulk_size_limits_cut_requests(es, tmp_path):
    out = make_output(es.url, tmp_path, "bulk_max_events => 7 concurrent_requests => 3")
    out.receive(events(50))
    out.close()
    bulk = [r for r in es.requests if r.path == "/_bulk"]
    assert len(bulk) == 8
    assert max(len(list(iter_ndjson(r.body))) for r in bulk) == 14
    assert es.count() == 50


def test_dlq_disabled_counts_and_logs_drops(es, tmp_path, caplog):
    out = build_plugin("output", f'elasticsearch {{ hosts => ["{es.url}"] {FAST_RETRY} }}', path_data=tmp_path,
                       register=False)
    out.context.settings = {"dead_letter_queue.enable": False}
    out.register()
    es.fail_items(lambda item: 400)
    with caplog.at_level(logging.ERROR, logger="pipeline.output.elasticsearch"):
        out.receive(events(2))
    out.close()
    assert out.stats.dlq_dropped == 2
    assert "DROPPED" in caplog.text and "doc-0" in caplog.text
    assert not queue_dir(tmp_path, "main").exists()


# -- data streams ----------------------------------------------------------------------------
def test_builtin_logs_data_stream_template_warns_at_start_and_create_works(tmp_path, caplog):
    with FakeElasticsearch(builtin_logs_template=True) as fake:
        with caplog.at_level(logging.WARNING, logger="pipeline.output.elasticsearch"):
            bad = make_output(fake.url, tmp_path / "a", 'index => "logs-%{service}-%{+YYYY.MM.dd}"')
        assert "creates data streams" in caplog.text and "action => create" in caplog.text
        bad.receive(events(2, service="app"))
        bad.close()
        assert len(dead_letters(tmp_path / "a")) == 2
        good = make_output(fake.url, tmp_path / "b", 'index => "logs-%{service}-%{+YYYY.MM.dd}" action => "create"')
        good.receive(events(2, service="app"))
        good.close()
        assert fake.count("logs-app-2026.11.21") == 2


# -- the soak: random faults, then every event indexed once or dead-lettered ---------------------
def test_random_faults_lose_nothing(es, tmp_path):
    rng = random.Random(5)
    out = make_output(es.url, tmp_path, 'document_id => "%{id}" bulk_max_events => 40')
    item_faults = {}

    def rule(item: BulkItem) -> int | None:
        index = es.indices.get(item.index)
        if index is not None and item.id in index.docs:
            return None  # re-sent after a dropped answer: ES would just overwrite it
        key = (item.id, item.request_number)
        if key not in item_faults:
            item_faults[key] = rng.choice([None] * 12 + [400, 404, 429, 429, 503])
        return item_faults[key]

    es.fail_items(rule)
    sent = [Event({"@timestamp": "2026-11-21T10:00:00Z", "id": f"e{i}", "n": i}) for i in range(400)]
    for start in range(0, 400, 100):
        es.fail_requests(1, status=rng.choice([429, 503]), only="_bulk")
        es.drop_connections(1, only="_bulk")
        out.receive(sent[start:start + 100])
    out.close()
    assert_none_lost(es, tmp_path, sent)
    stats = out.stats
    assert stats.indexed + stats.dead_lettered == 400 - stats.duplicates
    assert stats.dead_lettered == len(dead_letters(tmp_path)) > 0
    assert stats.retried_items > 0


def test_whole_pipeline_from_config_text(es, tmp_path):
    from pipeline.testing import run_pipeline

    config = f"""
    filter {{ mutate {{ add_field => {{ "[service][name]" => "auth" }} }} }}
    output {{ elasticsearch {{ hosts => ["{es.url}"] index => "logs-%{{[service][name]}}-%{{+YYYY.MM.dd}}"
                              document_id => "%{{id}}" }} }}
    """
    run_pipeline(config, [{"@timestamp": "2026-11-21T10:00:00Z", "id": f"p{i}", "message": "hi"} for i in range(25)],
                 path_data=tmp_path)
    assert sorted(d["_id"] for d in es.docs("logs-auth-2026.11.21")) == sorted(f"p{i}" for i in range(25))


def test_http_compression_gzips_bulk_bodies(es, tmp_path):
    out = make_output(es.url, tmp_path, "http_compression => true")
    out.receive(events(20))
    out.close()
    bulk = [r for r in es.requests if r.path == "/_bulk"]
    assert bulk and bulk[0].headers.get("content-encoding") == "gzip"
    assert es.count() == 20


def test_credentials_are_sent_and_never_printed(tmp_path):
    with FakeElasticsearch(user="elastic", password="s3cret") as fake:
        out = make_output(fake.url, tmp_path, 'user => "elastic" password => "s3cret"')
        assert "s3cret" not in repr(out.options)
        out.receive(events(3))
        out.close()
        assert fake.count() == 3


def test_workers_sharing_the_output_lose_nothing(es, tmp_path):
    out = make_output(es.url, tmp_path, 'document_id => "%{id}" bulk_max_events => 25 concurrent_requests => 2')
    es.fail_items(lambda item: 429 if item.request_number % 3 == 0 else None)
    batches = [[Event({"@timestamp": "2026-11-21T10:00:00Z", "id": f"w{w}-{i}"}) for i in range(100)]
               for w in range(4)]
    threads = [threading.Thread(target=out.receive, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    out.close()
    assert es.count() == 400
    assert_none_lost(es, tmp_path, [e for batch in batches for e in batch])
    assert out.stats.indexed == 400
