"""Scale-out: two `pipeline run` processes in one consumer group share a 6-partition topic of the real Kafka
broker and write to the real OpenSearch node; one is killed with SIGKILL mid-stream, the other takes its
partitions, the killed one comes back. With document_id from the Kafka coordinates, the index holds every
produced event exactly once."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import requests
from support.brokers import PipelineProcess, create_topic, group_lag, produce_slowly, unique, wait_for

TOTAL = 6000


def _event(n: int) -> str:
    return json.dumps({"n": n, "service": "web"})


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_pipelines_share_partitions_survive_a_kill_and_index_each_event_once(
        kafka_bootstrap: str, opensearch_url: str, tmp_path: Path) -> None:
    topic = create_topic(kafka_bootstrap, unique("monitoring-events"), partitions=6)
    group = unique("pipelines")
    index = unique("scale")
    base = opensearch_url.rstrip("/")
    config = tmp_path / "p.conf"
    config.write_text(f'''
input {{ kafka {{ bootstrap_servers => "{kafka_bootstrap}" topics => ["{topic}"] group_id => "{group}"
              auto_offset_reset => "earliest" codec => json decorate_events => "basic"
              session_timeout_ms => 6000 heartbeat_interval_ms => 1000 auto_commit_interval_ms => 500 }} }}
output {{ elasticsearch {{ hosts => ["{base}"] index => "{index}"
    document_id => "%{{[@metadata][kafka][topic]}}-%{{[@metadata][kafka][partition]}}-%{{[@metadata][kafka][offset]}}" }} }}''')

    def indexed() -> int:
        response = requests.get(f"{base}/{index}/_count", timeout=30)
        return int(response.json()["count"]) if response.status_code == 200 else 0

    killed = threading.Event()  # the second half is produced only after the kill: it always lands mid-stream
    producer = threading.Thread(target=produce_slowly, args=(kafka_bootstrap, topic, TOTAL, _event, 0.4, killed),
                                daemon=True)
    producer.start()
    first = PipelineProcess(config, tmp_path / "data-a", tmp_path / "log-a")
    second = PipelineProcess(config, tmp_path / "data-b", tmp_path / "log-b")
    try:
        wait_for(lambda: indexed() >= 1000, 120, "1000 events indexed by the two pipelines")
        first.kill()
        assert producer.is_alive(), "the producer finished before the kill: not mid-stream"
        killed.set()
        at_kill = indexed()
        wait_for(lambda: indexed() >= at_kill + 1000, 120, "the survivor to take over the partitions")
        first = PipelineProcess(config, tmp_path / "data-a", tmp_path / "log-a")
        wait_for(lambda: (tmp_path / "log-a").read_text().count("pipeline main started") == 2, 120,
                 "the killed pipeline to start again")
        producer.join(300)
        wait_for(lambda: indexed() >= TOTAL, 180, f"all {TOTAL} events indexed")
        wait_for(lambda: group_lag(kafka_bootstrap, group, topic) == 0, 120, "consumer lag 0")
    finally:
        codes = [first.stop(), second.stop()]
    assert codes == [0, 0]
    requests.post(f"{base}/{index}/_refresh", timeout=60).raise_for_status()
    found = requests.post(f"{base}/{index}/_search", json={"size": TOTAL + 100, "_source": ["n"]},
                          timeout=120).json()["hits"]["hits"]
    assert len(found) == TOTAL  # exactly once: redelivered events overwrote their own document
    assert sorted(hit["_source"]["n"] for hit in found) == list(range(TOTAL))
    survivor_log = (tmp_path / "log-b").read_text()
    assert "Traceback" not in survivor_log
