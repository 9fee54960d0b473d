"""The elasticsearch output against each engine of ``es_backend``: the fake Elasticsearch 8 and a real OpenSearch.

What only a real engine can show lives here: its own error types and reasons for rejected items,
its conflict answers, the template it applies to a new daily index, and that our template leaves
other products' data streams alone.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.elasticsearch.client import client_from_url
from pipeline.elasticsearch.setup import run_setup
from pipeline.event import Event
from pipeline.queue.dead_letter import DeadLetterReader, queue_dir
from pipeline.testing import build_plugin

FAST_RETRY = 'retry_initial_interval => "5ms" retry_max_interval => "40ms"'


def make_output(url: str, data: Path, options: str = "", name: str = "elasticsearch"):
    return build_plugin("output", f'{name} {{ hosts => ["{url}"] {FAST_RETRY} {options} }}', path_data=data)


def events(count: int, **extra) -> list[Event]:
    return [Event({"@timestamp": "2026-11-21T10:00:00Z", "id": f"doc-{i}", "message": f"line {i}", **extra})
            for i in range(count)]


def dead_letters(data: Path) -> list:
    return [entry for entry, _ in DeadLetterReader(queue_dir(data, "main")).read()]


def install_template(url: str) -> None:
    client = client_from_url(url, max_retries=0)
    try:
        run_setup(client, replicas=0, ilm=False)
    finally:
        client.close()


def test_bulk_delivers_every_event_once_into_the_daily_index(es_backend, tmp_path):
    out = make_output(es_backend.url, tmp_path, 'document_id => "%{id}" bulk_max_events => 40')
    sent = events(250)
    out.receive(sent)
    out.close()
    assert es_backend.count("logs-2026.11.21") == 250
    assert sorted(d["_id"] for d in es_backend.docs("logs-*")) == sorted(e.get("id") for e in sent)
    assert out.stats.indexed == 250 and out.stats.dead_lettered == 0


def test_a_string_into_a_long_field_is_dead_lettered_with_the_engines_reason(es_backend, tmp_path):
    install_template(es_backend.url)
    out = make_output(es_backend.url, tmp_path)
    good = Event({"@timestamp": "2026-11-21T10:00:00Z", "response": 200, "message": "ok"})
    bad = Event({"@timestamp": "2026-11-21T10:00:00Z", "response": "two hundred", "message": "bad"})
    out.receive([good, bad])
    out.close()
    [entry] = dead_letters(tmp_path)
    assert entry.event["response"] == "two hundred"
    assert "status: 400" in entry.reason
    # Elasticsearch 8 says document_parsing_exception, OpenSearch mapper_parsing_exception: both name the field.
    assert "parsing_exception" in entry.reason and "failed to parse field [response] of type [long]" in entry.reason
    assert es_backend.count("logs-2026.11.21") == 1


def test_create_twice_with_the_same_document_id_counts_the_409_as_done(es_backend, tmp_path):
    out = make_output(es_backend.url, tmp_path, 'action => "create" document_id => "%{id}"')
    out.receive(events(3))
    out.receive(events(3))
    out.close()
    assert out.stats.duplicates == 3
    assert out.stats.dead_lettered == 0 and dead_letters(tmp_path) == []
    assert es_backend.count("logs-2026.11.21") == 3


def test_daily_index_gets_our_template_mapping(es_backend, tmp_path):
    install_template(es_backend.url)
    out = make_output(es_backend.url, tmp_path, 'index => "logs-%{[service]}-%{+YYYY.MM.dd}"')
    out.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "service": "nginx", "clientip": "10.0.0.1",
                        "response": 404, "bytes": 512, "error_message": "not found", "status_text": "Not Found"})])
    out.close()
    assert es_backend.index_names("logs-*") == ["logs-nginx-2026.11.21"]
    props = es_backend.mapping("logs-nginx-2026.11.21")["properties"]
    assert props["response"]["type"] == "long" and props["bytes"]["type"] == "long"
    assert props["clientip"]["type"] == "keyword"
    assert props["@timestamp"]["type"] == "date"
    assert props["event"]["properties"]["original"]["index"] is False


def test_the_opensearch_output_name_writes_to_both_engines(es_backend, tmp_path):
    out = make_output(es_backend.url, tmp_path, 'document_id => "%{id}"', name="opensearch")
    out.receive(events(5))
    out.close()
    assert es_backend.count("logs-2026.11.21") == 5


def test_real_node_stopped_mid_stream_blocks_inputs_then_delivers_everything(real_engine, tmp_path):
    """The fake-ES outage test, on the real node: stop it between batches, restart it, lose nothing."""
    import subprocess
    import threading
    from urllib.parse import urlsplit

    from support.polling import listening, wait_until
    from support.services import SERVICES_SCRIPT

    def services(action: str) -> None:
        result = subprocess.run(["bash", str(SERVICES_SCRIPT), action, "opensearch"], capture_output=True,
                                text=True, timeout=600, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, f"services.sh {action} opensearch: {result.stdout}{result.stderr}"

    out = make_output(real_engine.url, tmp_path, 'document_id => "%{id}" timeout => "5s"')
    sent = events(300)
    out.receive(sent[:100])
    assert real_engine.count("logs-2026.11.21") == 100
    services("stop")
    # services.sh stops only a node it started: one of another checkout on the same port keeps answering, and the
    # test would then fail as "no backpressure" instead of saying so (checked before the try: nothing to restart).
    node = urlsplit(real_engine.url)
    wait_until(lambda: not listening(node.port or 9200, node.hostname or "127.0.0.1"),
               f"the node at {real_engine.url} to stop (another checkout's? services.sh stops only its own)", 120)
    try:
        done = threading.Event()
        worker = threading.Thread(target=lambda: (out.receive(sent[100:]), done.set()), daemon=True)
        worker.start()
        # Until the first attempt failed, not a fixed 3 s: the worker's first request may come later on a
        # loaded machine (the OpenSearch JVM stopping is part of that load).
        wait_until(lambda: out.stats.bulk_request_failures >= 1, "a failed bulk request", 60)
        assert not done.is_set(), "receive returned while the node was down (no backpressure)"
    finally:
        services("start")
    assert done.wait(180), "receive did not finish once the node was back"
    out.close()
    stored = real_engine.docs("logs-*")
    assert sorted(d["_id"] for d in stored) == sorted(e.get("id") for e in sent)  # each once, none lost
    assert dead_letters(tmp_path) == []


def test_beats_events_with_their_agent_object_are_accepted_under_our_template(es_backend, tmp_path):
    """Every Filebeat/Winlogbeat event carries agent.{id,type,...}: the template must not map agent as a string."""
    install_template(es_backend.url)
    out = make_output(es_backend.url, tmp_path)
    out.receive([Event({"@timestamp": "2026-11-21T10:00:00Z", "message": "GET / 200",
                        "agent": {"id": "e68739c3", "type": "filebeat", "version": "8.1.3"},
                        "ecs": {"version": "8.0.0"}, "host": {"name": "vm"}})])
    out.close()
    assert dead_letters(tmp_path) == []
    assert es_backend.count("logs-2026.11.21") == 1


def test_manage_template_installs_a_composable_template_on_opensearch(real_engine, tmp_path):
    """template_api => auto means composable on OpenSearch (it has them since 1.0, its majors restart at 1)."""
    import requests

    out = make_output(real_engine.url, tmp_path, 'manage_template => true index => "ecs-logstash-%{+YYYY.MM.dd}"',
                      name="opensearch")
    out.receive(events(2))
    out.close()
    assert requests.get(f"{real_engine.url}/_index_template/ecs-logstash", timeout=60).status_code == 200
    assert requests.get(f"{real_engine.url}/_template/ecs-logstash", timeout=60).status_code == 404
    assert real_engine.count("ecs-logstash-2026.11.21") == 2
