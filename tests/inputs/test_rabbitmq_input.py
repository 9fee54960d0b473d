"""rabbitmq input, built from config text, against a real RabbitMQ node (scripts/services.sh), fed by pika."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pika
import pytest
from support.push_sizes import run_into_small_queue

from pipeline.errors import ConfigErrors
from pipeline.testing import build_plugin

pytestmark = pytest.mark.real_service


@pytest.fixture()
def broker(rabbitmq_url: str) -> Iterator[tuple[int, Any]]:
    """(port, a pika channel to publish and inspect with)."""
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    yield urlsplit(rabbitmq_url).port or 5672, connection.channel()
    connection.close()


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _input(start_input: Callable[..., Any], port: int, options: str, capacity: int = 10_000) -> Any:
    return start_input(f'rabbitmq {{ host => "127.0.0.1" port => {port} {options} }}', capacity=capacity)


def test_messages_of_a_bound_queue_become_events_and_are_acknowledged(broker: tuple[int, Any], start_input) -> None:
    port, channel = broker
    queue, exchange = _name("q"), _name("x")
    running = _input(start_input, port, f'queue => "{queue}" exchange => "{exchange}" exchange_type => "topic" '
                                        f'key => "app.*" durable => true tags => ["mq"]')
    running.until(lambda: _exists(channel, queue), what="the queue to be declared")
    for n in range(30):
        channel.basic_publish(exchange, "app.web" if n % 2 else "db.main", json.dumps({"n": n}).encode())
    events = running.collect(15)
    assert sorted(e.get("n") for e in events) == list(range(1, 30, 2))  # only app.* is bound
    assert all(e.tags == ["mq"] for e in events)
    running.stop()
    assert channel.queue_declare(queue, passive=True).method.message_count == 0  # all acknowledged
    channel.queue_delete(queue)
    channel.exchange_delete(exchange)


def test_metadata_basic_and_extended(broker: tuple[int, Any], start_input) -> None:
    port, channel = broker
    queue = _name("q")
    channel.queue_declare(queue)
    channel.basic_publish("", queue, b'{"a": 1}', pika.BasicProperties(
        content_type="application/json", message_id="m-1", priority=3, headers={"origin": "billing"}, timestamp=1700000000))
    running = _input(start_input, port, f'queue => "{queue}" metadata_enabled => "extended"')
    [event] = running.collect(1)
    assert event.get("[@metadata][rabbitmq_headers]") == {"origin": "billing"}
    props = event.get("[@metadata][rabbitmq_properties]")
    assert props["content-type"] == "application/json" and props["message-id"] == "m-1" and props["priority"] == 3
    assert props["routing-key"] == queue and props["exchange"] == "" and props["redeliver"] is False
    assert props["timestamp"] == 1700000000
    assert event.get("[@metadata][rabbitmq_payload]") == '{"a": 1}'
    running.stop()
    channel.queue_delete(queue)


def test_bodies_that_are_not_json_are_kept_and_tagged(broker: tuple[int, Any], start_input) -> None:
    port, channel = broker
    queue = _name("q")
    channel.queue_declare(queue)
    channel.basic_publish("", queue, b"not json {")
    channel.basic_publish("", queue, b"plain line")
    json_input = _input(start_input, port, f'queue => "{queue}" prefetch_count => 1')
    first, second = json_input.collect(2)
    assert first.get("message") == "not json {" and "_jsonparsefailure" in first.tags
    assert second.get("message") == "plain line"
    json_input.stop()
    channel.queue_delete(queue)


def test_unacknowledged_messages_go_back_to_the_queue_when_the_pipeline_is_full(broker: tuple[int, Any],
                                                                                start_input) -> None:
    port, channel = broker
    queue = _name("q")
    channel.queue_declare(queue, durable=True)
    for n in range(20):
        channel.basic_publish("", queue, json.dumps({"n": n}).encode())
    # A pipeline queue of 10 events (pushes of 5, its push limit): two batches of 5 get in, the next one
    # waits, unacknowledged.
    running = _input(start_input, port, f'queue => "{queue}" durable => true prefetch_count => 5', capacity=10)
    ready = lambda: channel.queue_declare(queue, durable=True, passive=True).method.message_count  # noqa: E731
    _wait(lambda: len(running.queue) == 10 and ready() == 5, "10 queued, 5 waiting unacknowledged")  # no draining
    running.stopping.set()
    running.finished.wait(10)
    delivered = running.drain()
    running.until(lambda: ready() == 10, what="the 5 unacknowledged messages back in the broker's queue")
    assert sorted(e.get("n") for e in delivered) == list(range(10))  # nothing lost, nothing acknowledged early
    channel.queue_delete(queue)


def test_an_unreachable_broker_is_retried_until_stopped(start_input, caplog: pytest.LogCaptureFixture) -> None:
    running = start_input('rabbitmq { host => "127.0.0.1" port => 9 queue => "q" '
                          'subscription_retry_interval_seconds => 0.1 password => "hidden-pw" }')
    running.until(lambda: caplog.text.count("subscribing again") >= 2, what="two retries")
    running.stop()
    assert "amqp://guest@127.0.0.1:9/" in caplog.text and "hidden-pw" not in caplog.text


def test_config_errors() -> None:
    with pytest.raises(ConfigErrors, match="host"):
        build_plugin("input", 'rabbitmq { queue => "q" }')
    with pytest.raises(ConfigErrors, match="exchange_type"):
        build_plugin("input", 'rabbitmq { host => "h" exchange => "x" exchange_type => "broadcast" }')


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _exists(channel: Any, queue: str) -> bool:
    try:
        channel.connection.channel().queue_declare(queue, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker:
        return False


def test_deliveries_are_pushed_within_the_queues_push_limit(broker: tuple[int, Any]) -> None:
    # prefetch_count 256 deliveries were gathered into one push: into a 20-event queue, 10 at most.
    port, channel = broker
    queue = _name("q")
    channel.queue_declare(queue)
    for n in range(50):
        channel.basic_publish("", queue, json.dumps({"n": n}).encode())
    plugin = build_plugin("input", f'rabbitmq {{ host => "127.0.0.1" port => {port} queue => "{queue}" }}')
    try:
        sizes, events = run_into_small_queue(plugin, capacity=20, until=50)
    finally:
        plugin.stop()
        plugin.close()
    assert sizes and max(sizes) <= 10 and sum(sizes) == 50
    assert [e.get("n") for e in events] == list(range(50))
    channel.queue_delete(queue)
