"""Helpers for tests against a real Kafka: topics, producing and reading with confluent-kafka itself,
and running the real ``pipeline`` command as a subprocess (so it can be killed with SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(bootstrap: str, name: str, partitions: int = 1) -> str:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(30)
    # The topic must be known to the brokers' metadata before producers and consumers use it.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        topic = admin.list_topics(name, timeout=5).topics.get(name)
        if topic is not None and topic.error is None and len(topic.partitions) == partitions:
            return name
        time.sleep(0.2)
    raise TimeoutError(f"topic {name} not ready")


def produce(bootstrap: str, topic: str, values: Iterable[bytes | str], key: Callable[[int], bytes | None] | None = None) -> int:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    count = 0
    for i, value in enumerate(values):
        producer.produce(topic, value.encode() if isinstance(value, str) else value, key(i) if key else None)
        producer.poll(0)
        count += 1
    assert producer.flush(30) == 0, "records left undelivered"
    return count


def produce_slowly(bootstrap: str, topic: str, total: int, value: Callable[[int], str], pause: float,
                   killed: threading.Event) -> None:
    """Produce ``total`` records (``value(n)``) in rounds of 100, ``pause`` seconds apart, the second half only
    once ``killed`` is set: a kill the test makes after some progress lands while records are still produced,
    however fast or slow the pipeline and the broker are (run in a daemon thread)."""
    for start in range(0, total, 100):
        if start >= total // 2:
            killed.wait(300)
        produce(bootstrap, topic, (value(n) for n in range(start, min(start + 100, total))))
        time.sleep(pause)


def consume_all(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[Any]:
    """Records of ``topic`` read from the start by a fresh group, until ``expected`` arrived."""
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("reader"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            for record in consumer.consume(500, 0.5):
                if record.error() is None:
                    records.append(record)
    finally:
        consumer.close()
    return records


def group_lag(bootstrap: str, group: str, topic: str) -> int:
    """Records of ``topic`` not yet committed by ``group`` (high watermark - committed, summed)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        partitions = [TopicPartition(topic, p) for p in meta.partitions]
        committed = consumer.committed(partitions, timeout=10)
        lag = 0
        for tp in committed:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
            lag += high - max(tp.offset, 0)
        return lag
    finally:
        consumer.close()


class PipelineProcess:
    """``python -m pipeline run -f CONFIG`` in a subprocess, logs to a file."""

    def __init__(self, config: Path, data: Path, log: Path, *extra: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipeline", "run", "-f", str(config), "--path.data", str(data),
                 "--api.enabled", "false", *extra],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)

