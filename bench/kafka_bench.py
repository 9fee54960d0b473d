"""Kafka input throughput: events/s of one `pipeline run` process, and of two in one consumer group.

    python bench/kafka_bench.py --bootstrap 127.0.0.1:9092 [--events 200000] [--partitions 6]

Fills a fresh topic with JSON events shaped like monitoring-events, then times real `pipeline run`
processes (kafka input, codec json → null output) until the group's lag is 0. The figure includes
offset commits (after the outputs) and process start-up; the machine's load average is printed with it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def fill(bootstrap: str, topic: str, events: int, partitions: int) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the topic exists
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[topic].result(60)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "compression.type": "lz4"})
    for i in range(events):
        value = json.dumps({"service": {"name": f"svc{i % 40}"}, "event": {"kind": "state", "outcome": "failure"},
                            "host": {"name": f"web-{i % 7}"}, "message": f"health check {i} failed", "status": "down"})
        while True:
            try:
                producer.produce(topic, value.encode(), f"svc{i % 40}".encode())
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    producer.flush(120)


def lag(bootstrap: str, group: str, topic: str) -> int:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions]
        total = 0
        for tp in consumer.committed(partitions, timeout=10):
            high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)[1]
            total += high - max(tp.offset, 0)
        return total
    finally:
        consumer.close()


def run(bootstrap: str, topic: str, events: int, processes: int, workers: int) -> float:
    group = f"bench-{uuid.uuid4().hex[:6]}"
    config = Path(tempfile.mkdtemp(prefix="kafka-bench-")) / "p.conf"
    config.write_text(f'''input {{ kafka {{ bootstrap_servers => "{bootstrap}" topics => ["{topic}"] group_id => "{group}"
    auto_offset_reset => "earliest" codec => json auto_commit_interval_ms => 500 consumer_threads => 1 }} }}
output {{ null {{ }} }}''')
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-m", "pipeline", "run", "-f", str(config), "-w", str(workers),
                               "--path.data", str(config.parent / f"data{n}"), "--api.enabled", "false"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for n in range(processes)]
    try:
        while lag(bootstrap, group, topic) > 0 or time.monotonic() - started < 2:
            time.sleep(0.5)
        return events / (time.monotonic() - started)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    topic = f"bench-{uuid.uuid4().hex[:6]}"
    fill(args.bootstrap, topic, args.events, args.partitions)
    for processes in (1, 2):
        load = os.getloadavg()[0]
        rate = run(args.bootstrap, topic, args.events, processes, args.workers)
        print(f"{processes} process(es): {args.events} events, {rate:,.0f} events/s in total "
              f"({rate / processes:,.0f} per process), load average {load:.1f}")


if __name__ == "__main__":
    main()
