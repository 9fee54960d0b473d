"""kafka input against a real broker: decoding, metadata, consumer groups, offsets only for safe events."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest
from support.brokers import (
    PipelineProcess,
    create_topic,
    group_lag,
    produce,
    produce_slowly,
    unique,
    wait_for,
)
from support.push_sizes import run_into_small_queue

from pipeline.errors import ConfigError, ConfigErrors
from pipeline.testing import build_plugin


def _lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def test_logstash_options_become_librdkafka_settings() -> None:
    plugin = build_plugin("input", '''kafka {
        bootstrap_servers => "k1:9092,k2:9092" group_id => "shippers" client_id => "edge"
        auto_offset_reset => "none" partition_assignment_strategy => "round_robin"
        security_protocol => "SASL_SSL" sasl_mechanism => "PLAIN"
        sasl_jaas_config => "org.apache.kafka.common.security.plain.PlainLoginModule required username='u1' password='p1';"
        ssl_endpoint_identification_algorithm => "" group_instance_id => "node" consumer_threads => 2 }''')
    conf = plugin.consumer_config(1)
    assert conf["bootstrap.servers"] == "k1:9092,k2:9092"
    assert conf["group.id"] == "shippers" and conf["client.id"] == "edge-1"
    assert conf["group.instance.id"] == "node-1"
    assert conf["auto.offset.reset"] == "error"
    assert conf["partition.assignment.strategy"] == "roundrobin"
    assert conf["security.protocol"] == "sasl_ssl" and conf["sasl.mechanism"] == "PLAIN"
    assert (conf["sasl.username"], conf["sasl.password"]) == ("u1", "p1")
    assert conf["ssl.endpoint.identification.algorithm"] == "none"
    assert conf["enable.auto.offset.store"] is False  # offsets stored only for acknowledged events


def test_a_java_keystore_is_a_config_error_with_the_conversion_command() -> None:
    # At register, not later in a consumer thread.
    with pytest.raises(ConfigError, match="keytool"):
        build_plugin("input", 'kafka { security_protocol => "SSL" ssl_truststore_location => "/etc/kafka/trust.jks" }')


def test_schema_registry_is_refused_at_load() -> None:
    with pytest.raises(ConfigErrors, match="not supported"):
        build_plugin("input", 'kafka { schema_registry_url => "http://registry:8081" }')


def test_consumer_options_become_librdkafka_settings() -> None:
    conf = build_plugin("input", '''kafka { fetch_max_bytes => 1048576 fetch_min_bytes => 10 fetch_max_wait_ms => 250
        max_partition_fetch_bytes => 65536 session_timeout_ms => 30000 heartbeat_interval_ms => 1000
        isolation_level => "read_committed" client_rack => "eu-1a" max_poll_interval_ms => 60000 }''').consumer_config(0)
    assert (conf["fetch.max.bytes"], conf["fetch.min.bytes"], conf["fetch.wait.max.ms"]) == (1048576, 10, 250)
    assert conf["max.partition.fetch.bytes"] == 65536 and conf["max.poll.interval.ms"] == 60000
    assert (conf["session.timeout.ms"], conf["heartbeat.interval.ms"]) == (30000, 1000)
    assert conf["isolation.level"] == "read_committed" and conf["client.rack"] == "eu-1a"
    assert conf["group.protocol"] == "classic"


def test_the_consumer_group_protocol_leaves_timeouts_and_assignment_to_the_broker() -> None:
    conf = build_plugin("input", 'kafka { group_protocol => "consumer" }').consumer_config(0)
    assert conf["group.protocol"] == "consumer"
    assert "session.timeout.ms" not in conf and "heartbeat.interval.ms" not in conf


@pytest.mark.parametrize("option", ['session_timeout_ms => 30000', 'heartbeat_interval_ms => 1000',
                                    'partition_assignment_strategy => "range"'])
def test_the_consumer_group_protocol_refuses_the_settings_it_gives_the_broker(option: str) -> None:
    with pytest.raises(ConfigErrors, match="group_protocol cannot be set to 'consumer' when any of"):
        build_plugin("input", f'kafka {{ group_protocol => "consumer" {option} }}', register=False)


def test_schema_registry_settings_without_the_registry_load_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pipeline.plugin"):
        build_plugin("input", 'kafka { schema_registry_key => "k" schema_registry_validation => "skip" }')
    assert caplog.text.count("used only with schema_registry_url") == 2


def test_a_deserializer_that_cannot_run_here_is_refused_at_load() -> None:
    with pytest.raises(ConfigErrors, match="value_deserializer_class.*StringDeserializer or ByteArrayDeserializer"):
        build_plugin("input", 'kafka { value_deserializer_class => "io.confluent.kafka.serializers.KafkaAvroDeserializer" }',
                     register=False)


def test_topics_pattern_matches_whole_topic_names() -> None:
    plugin = build_plugin("input", 'kafka { topics_pattern => "logs-.*" topics => ["ignored"] }')
    assert plugin.subscription() == ["^(logs-.*)$"]


def test_json_records_with_metadata_reach_the_outputs(kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = create_topic(kafka_bootstrap, unique("events"), partitions=3)
    sent = [json.dumps({"service": f"svc{i}", "status": "down", "n": i}) for i in range(30)]
    produce(kafka_bootstrap, topic, sent, key=lambda i: f"k{i}".encode())
    out = tmp_path / "out.json"
    config = tmp_path / "p.conf"
    config.write_text(f'''
input {{ kafka {{ bootstrap_servers => "{kafka_bootstrap}" topics => ["{topic}"] group_id => "{unique("g")}"
                  auto_offset_reset => "earliest" codec => json decorate_events => "extended" consumer_threads => 2 }} }}
filter {{ mutate {{ add_field => {{ "[kafka]" => "%{{[@metadata][kafka][topic]}}/%{{[@metadata][kafka][partition]}}/%{{[@metadata][kafka][offset]}}/%{{[@metadata][kafka][key]}}/%{{[@metadata][kafka][consumer_group]}}" }} }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}''')
    process = PipelineProcess(config, tmp_path / "data", tmp_path / "log")
    try:
        wait_for(lambda: len(_lines(out)) >= 30, 60, "30 events in the file output")
    finally:
        assert process.stop() == 0
    events = _lines(out)
    assert sorted(e["n"] for e in events) == list(range(30))
    first = next(e for e in events if e["n"] == 7)
    name, partition, offset, key, group = first["kafka"].split("/")
    assert name == topic and key == "k7" and 0 <= int(partition) < 3 and int(offset) >= 0
    assert group.startswith("g-")
    assert "@metadata" not in first


def test_the_consumer_group_protocol_reads_from_a_real_broker(kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = create_topic(kafka_bootstrap, unique("kip848"), partitions=2)
    produce(kafka_bootstrap, topic, [json.dumps({"n": i}) for i in range(20)])
    out = tmp_path / "out.json"
    config = tmp_path / "p.conf"
    config.write_text(f'''
input {{ kafka {{ bootstrap_servers => "{kafka_bootstrap}" topics => ["{topic}"] group_id => "{unique("g")}"
                  group_protocol => "consumer" auto_offset_reset => "earliest" codec => json }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}''')
    process = PipelineProcess(config, tmp_path / "data", tmp_path / "log")
    try:
        wait_for(lambda: len(_lines(out)) >= 20, 60, "20 events in the file output")
    finally:
        assert process.stop() == 0
    assert sorted(e["n"] for e in _lines(out)) == list(range(20))


def test_a_pattern_matching_internal_topics_reads_only_the_users_topics(kafka_bootstrap: str, tmp_path: Path) -> None:
    # librdkafka assigns __consumer_offsets to a pattern that matches it; Logstash (the Java client) does not.
    topic = create_topic(kafka_bootstrap, unique("pattern"))
    produce(kafka_bootstrap, topic, [json.dumps({"n": i}) for i in range(10)])
    out = tmp_path / "out.json"
    config = tmp_path / "p.conf"
    config.write_text(f'''
input {{ kafka {{ bootstrap_servers => "{kafka_bootstrap}" topics_pattern => "{topic}|__consumer_offsets"
                  group_id => "{unique("g")}" auto_offset_reset => "earliest" codec => json decorate_events => "basic" }} }}
filter {{ mutate {{ add_field => {{ "topic" => "%{{[@metadata][kafka][topic]}}" }} }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}''')
    process = PipelineProcess(config, tmp_path / "data", tmp_path / "log")
    try:
        wait_for(lambda: len(_lines(out)) >= 10, 60, "the topic's 10 events")
        time.sleep(3)  # __consumer_offsets holds this test run's commits: time for them to arrive if read
    finally:
        assert process.stop() == 0
    events = _lines(out)
    assert {e["topic"] for e in events} == {topic} and sorted(e["n"] for e in events) == list(range(10))
    assert not any("_jsonparsefailure" in e.get("tags", []) for e in events)


def test_kill_9_mid_stream_loses_nothing_and_lag_returns_to_zero(kafka_bootstrap: str, tmp_path: Path) -> None:
    topic = create_topic(kafka_bootstrap, unique("atleastonce"), partitions=2)
    group = unique("g")
    total = 4000
    # Records keep arriving while the pipeline is killed and restarted: a real mid-stream crash.
    killed = threading.Event()
    producer = threading.Thread(target=produce_slowly, daemon=True,
                                args=(kafka_bootstrap, topic, total, lambda n: json.dumps({"n": n}), 0.1, killed))
    producer.start()
    out = tmp_path / "out.json"
    config = tmp_path / "p.conf"
    config.write_text(f'''
input {{ kafka {{ bootstrap_servers => "{kafka_bootstrap}" topics => ["{topic}"] group_id => "{group}"
                  auto_offset_reset => "earliest" codec => json auto_commit_interval_ms => 200 max_poll_records => 100 }} }}
output {{ file {{ path => "{out}" flush_interval => 0 }} }}''')
    data = tmp_path / "data"
    first = PipelineProcess(config, data, tmp_path / "log1", "-b", "50")
    wait_for(lambda: len(_lines(out)) >= 300, 120, "300 events before the kill")
    first.kill()
    assert producer.is_alive(), "the producer finished before the kill: not mid-stream"
    killed.set()
    second = PipelineProcess(config, data, tmp_path / "log2", "-b", "50")
    try:
        producer.join(120)
        wait_for(lambda: {e["n"] for e in _lines(out)} >= set(range(total)), 180, "every event after restart")
        wait_for(lambda: group_lag(kafka_bootstrap, group, topic) == 0, 60, "consumer lag 0")
    finally:
        assert second.stop() == 0


@pytest.mark.parametrize("queue_type", ["memory", "persisted"])
def test_offsets_of_events_stuck_before_the_outputs_are_not_lost(kafka_bootstrap: str, tmp_path: Path,
                                                                  free_port: int, queue_type: str) -> None:
    """The output is down (a Kafka output to a closed port retries forever): events wait in the queue.
    kill -9, restart with a working output: every event arrives — re-read from Kafka (memory queue:
    nothing was committed) or replayed from disk (persisted queue: committed once on disk)."""
    topic = create_topic(kafka_bootstrap, unique("stuck"), partitions=2)
    group = unique("g")
    total = 1000
    produce(kafka_bootstrap, topic, (json.dumps({"n": i}) for i in range(total)))
    source = f'''input {{ kafka {{ bootstrap_servers => "{kafka_bootstrap}" topics => ["{topic}"] group_id => "{group}"
                  auto_offset_reset => "earliest" codec => json auto_commit_interval_ms => 100 }} }}'''
    down = tmp_path / "down.conf"
    down.write_text(source + f'''
output {{ kafka {{ bootstrap_servers => "127.0.0.1:{free_port}" topic_id => "nowhere" delivery_timeout_ms => 1000 }} }}''')
    log1 = tmp_path / "log1"
    first = PipelineProcess(down, tmp_path / "data", log1, "-b", "50", "--queue.type", queue_type)
    wait_for(lambda: "records not delivered" in log1.read_text(), 90, "the output to report it is blocked")
    time.sleep(1.0)  # several auto-commit intervals: a wrongly stored offset would be committed by now
    first.kill()
    out = tmp_path / "out.json"
    up = tmp_path / "up.conf"
    up.write_text(source + f'\noutput {{ file {{ path => "{out}" flush_interval => 0 }} }}')
    second = PipelineProcess(up, tmp_path / "data", tmp_path / "log2", "--queue.type", queue_type)
    try:
        wait_for(lambda: {e["n"] for e in _lines(out)} >= set(range(total)), 120, "every event after restart")
        wait_for(lambda: group_lag(kafka_bootstrap, group, topic) == 0, 60, "consumer lag 0")
    finally:
        assert second.stop() == 0


def test_polls_are_pushed_within_the_queues_push_limit(kafka_bootstrap: str) -> None:
    # max_poll_records 500 records per poll, one push per poll: into a 20-event queue, 10 at most.
    topic = create_topic(kafka_bootstrap, unique("push-limit"))
    produce(kafka_bootstrap, topic, [json.dumps({"n": i}) for i in range(50)])
    plugin = build_plugin("input", f'kafka {{ bootstrap_servers => "{kafka_bootstrap}" topics => ["{topic}"] '
                                   f'group_id => "{unique("g")}" auto_offset_reset => "earliest" codec => json }}')
    try:
        sizes, events = run_into_small_queue(plugin, capacity=20, until=50, timeout=120)
    finally:
        plugin.stop()
        plugin.close()
    assert sizes and max(sizes) <= 10 and sum(sizes) == 50
    assert [e.get("n") for e in events] == list(range(50))
