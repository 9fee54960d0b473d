"""rabbitmq output, built from config text, against a real RabbitMQ node (scripts/services.sh), read by pika;
then the rabbitmq input reading what the output wrote, through the real `pipeline run`."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pika
import pytest
from support.polling import wait_until

from pipeline.errors import ConfigErrors, PluginError
from pipeline.event import Event
from pipeline.testing import build_plugin, run_pipeline

pytestmark = pytest.mark.real_service


@pytest.fixture()
def broker(rabbitmq_url: str) -> Iterator[tuple[int, Any]]:
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    yield urlsplit(rabbitmq_url).port or 5672, connection.channel()
    connection.close()


def _bound_queue(channel: Any, exchange: str, exchange_type: str, key: str) -> str:
    channel.exchange_declare(exchange, exchange_type=exchange_type, durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, routing_key=key)
    return str(queue)


def _read_all(channel: Any, queue: str) -> list[tuple[Any, Any, bytes]]:
    out = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        out.append((method, properties, body))


def test_events_are_published_with_the_routing_key_of_each_event(broker: tuple[int, Any]) -> None:
    port, channel = broker
    exchange = f"logs-{uuid.uuid4().hex[:8]}"
    web = _bound_queue(channel, exchange, "topic", "logs.web")
    run_pipeline(f'output {{ rabbitmq {{ host => "127.0.0.1" port => {port} exchange => "{exchange}" '
                 f'exchange_type => "topic" key => "logs.%{{[service]}}" }} }}',
                 [{"service": "web" if n % 3 else "db", "n": n} for n in range(30)])
    messages = _read_all(channel, web)
    assert [json.loads(body)["n"] for _, _, body in messages] == [n for n in range(30) if n % 3]
    method, properties, _ = messages[0]
    assert method.routing_key == "logs.web" and properties.delivery_mode == 2  # persistent by default
    channel.exchange_delete(exchange)


def test_message_properties_and_persistent_false(broker: tuple[int, Any]) -> None:
    port, channel = broker
    exchange = f"props-{uuid.uuid4().hex[:8]}"
    queue = _bound_queue(channel, exchange, "fanout", "")
    run_pipeline(f'output {{ rabbitmq {{ host => "127.0.0.1" port => {port} exchange => "{exchange}" '
                 f'exchange_type => "fanout" persistent => false codec => line {{ format => "%{{message}}" }} '
                 f'message_properties => {{ "content_type" => "text/plain" "priority" => "%{{[prio]}}" '
                 f'"app_id" => "pipeline" "headers" => {{ "origin" => "tests" }} }} }} }}',
                 [{"message": "hello", "prio": 4}])
    [(_, properties, body)] = _read_all(channel, queue)
    assert body == b"hello\n" and properties.content_type == "text/plain" and properties.priority == 4
    assert properties.app_id == "pipeline" and properties.headers == {"origin": "tests"}
    assert properties.delivery_mode is None
    channel.exchange_delete(exchange)


def test_an_unreachable_broker_blocks_and_retries(free_port: int, caplog: pytest.LogCaptureFixture) -> None:
    import threading

    plugin = build_plugin("output", f'rabbitmq {{ host => "127.0.0.1" port => {free_port} exchange => "x" '
                                    f'exchange_type => "fanout" connect_retry_interval => 0.05 }}')
    errors: list[Exception] = []

    def send() -> None:
        try:
            plugin.receive([Event({"message": "a"})])
        except PluginError as exc:
            errors.append(exc)

    writer = threading.Thread(target=send, daemon=True)
    writer.start()
    # Until the first attempt failed and said so, not a fixed 1 s after the start (a loaded machine's late turn).
    wait_until(lambda: "will retry" in caplog.text, "the output to retry", 30)
    assert writer.is_alive()  # backpressure: the batch is not given up
    plugin.close()  # a stop during the outage ends the wait with an error, never a silent success
    writer.join(5)
    assert not writer.is_alive() and "closed before" in str(errors[0])


@pytest.mark.parametrize(("options", "message"), [
    ('host => "h" exchange => "x"', "exchange_type"),
    ('host => "h" exchange => "x" exchange_type => "fanout" message_properties => { "colour" => "red" }',
     "unknown AMQP properties"),
])
def test_config_errors(options: str, message: str) -> None:
    with pytest.raises(ConfigErrors, match=message):
        build_plugin("output", f"rabbitmq {{ {options} }}")


def test_output_to_input_through_pipeline_run(broker: tuple[int, Any], pipeline_cmd: list[str],
                                              tmp_path: Path) -> None:
    port, channel = broker
    exchange, queue = f"e2e-{uuid.uuid4().hex[:8]}", f"e2e-{uuid.uuid4().hex[:8]}"
    channel.exchange_declare(exchange, exchange_type="direct", durable=True)
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, exchange, routing_key="logstash")
    writer = subprocess.run([*pipeline_cmd, "run", "--path.data", str(tmp_path / "w"), "-e",
                             f'input {{ generator {{ count => 200 message => "m" }} }} '
                             f'output {{ rabbitmq {{ host => "127.0.0.1" port => {port} exchange => "{exchange}" '
                             f'exchange_type => "direct" }} }}'], capture_output=True, text=True, timeout=120)
    assert writer.returncode == 0, writer.stderr
    assert channel.queue_declare(queue, durable=True, passive=True).method.message_count == 200
    out = tmp_path / "out.jsonl"
    reader = subprocess.Popen([*pipeline_cmd, "run", "--path.data", str(tmp_path / "r"), "-e",
                               f'input {{ rabbitmq {{ host => "127.0.0.1" port => {port} queue => "{queue}" '
                               f'durable => true }} }} output {{ file {{ path => "{out}" codec => json_lines }} }}'],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import time

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 200):
            time.sleep(0.2)
    finally:
        reader.terminate()
        reader.wait(60)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 200 and {line["message"] for line in lines} == {"m"}
    assert sorted(line["sequence"] for line in lines) == list(range(200))
    assert channel.queue_declare(queue, durable=True, passive=True).method.message_count == 0
    channel.queue_delete(queue)
    channel.exchange_delete(exchange)
