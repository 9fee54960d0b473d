"""kafka output against a real broker: topics and keys per event, delivery before return, visible rejects."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from support.brokers import PipelineProcess, consume_all, create_topic, unique, wait_for

from pipeline.errors import ConfigErrors
from pipeline.event import Event
from pipeline.testing import build_plugin, run_pipeline

MONITORING_EVENT = {"service": {"name": "payments"}, "event": {"kind": "state", "outcome": "failure"},
                    "host": {"name": "web-3"}, "message": "payments health check failed", "status": "down"}


def test_logstash_producer_options_become_librdkafka_settings() -> None:
    plugin = build_plugin("output", '''kafka { topic_id => "t" acks => "all" compression_type => "zstd"
        batch_size => 65536 linger_ms => 20 buffer_memory => 1048576 client_id => "shipper" }''', register=False)
    conf = plugin.producer_config()
    assert conf["acks"] == -1 and conf["compression.type"] == "zstd"
    assert conf["batch.size"] == 65536 and conf["linger.ms"] == 20
    assert conf["queue.buffering.max.kbytes"] == 1024 and conf["client.id"] == "shipper"
    assert conf["partitioner"] == "murmur2_random"  # same key → same partition as the Java client


def test_logstash_producer_defaults_are_kept() -> None:
    conf = build_plugin("output", 'kafka { topic_id => "t" }', register=False).producer_config()
    assert conf["linger.ms"] == 5 and conf["client.id"] == "logstash"  # Logstash's code and docs


def test_message_headers_are_rendered_per_event() -> None:
    plugin = build_plugin("output", '''kafka { topic_id => "t"
        message_headers => { "origin" => "%{[host][name]}" "pipeline" => "edge" } }''', register=False)
    record = plugin._record(Event(MONITORING_EVENT))
    assert record.headers == [("origin", b"web-3"), ("pipeline", b"edge")]
    assert build_plugin("output", 'kafka { topic_id => "t" }', register=False)._record(Event({})).headers is None


def test_negative_retries_are_refused() -> None:
    with pytest.raises(ConfigErrors, match="retries"):
        build_plugin("output", 'kafka { topic_id => "t" retries => -1 }', register=False)


def test_events_go_to_the_topic_and_key_named_by_each_event(kafka_bootstrap: str) -> None:
    base = unique("svc")
    for name in ("web", "db"):
        create_topic(kafka_bootstrap, f"{base}-{name}", partitions=3)
    events = [{"service": "web" if i % 3 else "db", "n": i, "host": f"h{i % 4}"} for i in range(60)]
    run_pipeline(f'''output {{ kafka {{ bootstrap_servers => "{kafka_bootstrap}" topic_id => "{base}-%{{service}}"
                     message_key => "%{{host}}" message_headers => {{ "origin" => "%{{host}}" }} codec => json }} }}''',
                 events)
    web = consume_all(kafka_bootstrap, f"{base}-web", 40)
    db = consume_all(kafka_bootstrap, f"{base}-db", 20)
    assert len(web) == 40 and len(db) == 20
    decoded = [json.loads(r.value()) for r in web]
    assert {e["service"] for e in decoded} == {"web"}
    assert all(r.key().decode() == json.loads(r.value())["host"] for r in web + db)
    assert all(r.headers() == [("origin", r.key())] for r in web + db)
    partitions_by_key: dict[bytes, set[int]] = {}
    for record in web:
        partitions_by_key.setdefault(record.key(), set()).add(record.partition())
    assert all(len(p) == 1 for p in partitions_by_key.values())


def test_a_record_the_broker_refuses_is_logged_and_counted_while_the_rest_is_delivered(
        kafka_bootstrap: str, caplog: pytest.LogCaptureFixture) -> None:
    topic = create_topic(kafka_bootstrap, unique("big"))
    plugin = build_plugin("output", f'''kafka {{ bootstrap_servers => "{kafka_bootstrap}" topic_id => "{topic}"
                                         max_request_size => 2000 codec => json }}''')
    with caplog.at_level(logging.ERROR):
        plugin.receive([Event({"message": "small"}), Event({"message": "x" * 5000}), Event({"message": "ok"})])
    plugin.close()
    assert plugin.rejected == 1
    assert "rejected" in caplog.text and "xxxx" in caplog.text
    assert sorted(json.loads(r.value())["message"] for r in consume_all(kafka_bootstrap, topic, 2)) == ["ok", "small"]


def test_one_pipeline_feeds_another_through_a_topic(kafka_bootstrap: str, tmp_path: Path) -> None:
    """Services → monitoring-events → a second pipeline, JSON events end to end."""
    topic = create_topic(kafka_bootstrap, unique("monitoring-events"), partitions=2)
    out = tmp_path / "out.json"
    consumer_conf = tmp_path / "consumer.conf"
    consumer_conf.write_text(f'''
input {{ kafka {{ bootstrap_servers => "{kafka_bootstrap}" topics => ["{topic}"] group_id => "{unique("alerts")}"
                  auto_offset_reset => "earliest" codec => json }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}''')
    consumer = PipelineProcess(consumer_conf, tmp_path / "data", tmp_path / "log")
    try:
        events = [{**MONITORING_EVENT, "seq": i} for i in range(50)]
        run_pipeline(f'''output {{ kafka {{ bootstrap_servers => "{kafka_bootstrap}" topic_id => "{topic}"
                         message_key => "%{{[service][name]}}" codec => json acks => "all" }} }}''', events)
        wait_for(lambda: out.exists() and len(out.read_text().splitlines()) >= 50, 60, "50 events downstream")
    finally:
        assert consumer.stop() == 0
    received = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(e["seq"] for e in received) == list(range(50))
    first = next(e for e in received if e["seq"] == 0)
    assert first["service"] == {"name": "payments"} and first["event"]["outcome"] == "failure"
    assert "@timestamp" in first


def test_partitioners_by_logstash_name_or_java_class_and_the_rest_refused_at_load() -> None:
    plugin = build_plugin("output", 'kafka { topic_id => "t" '
                                    'partitioner => "org.apache.kafka.clients.producer.RoundRobinPartitioner" }',
                          register=False)
    assert plugin.producer_config()["partitioner"] == "random"
    with pytest.raises(ConfigErrors, match="custom Java partitioners cannot run here"):
        build_plugin("output", 'kafka { topic_id => "t" partitioner => "com.example.MyPartitioner" }', register=False)
    with pytest.raises(ConfigErrors, match="value_serializer.*use StringSerializer or ByteArraySerializer"):
        build_plugin("output", 'kafka { topic_id => "t" value_serializer => "io.confluent.KafkaAvroSerializer" }',
                     register=False)
