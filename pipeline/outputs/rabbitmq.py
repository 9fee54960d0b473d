"""rabbitmq output: publish events to a RabbitMQ exchange; a batch returns once the broker confirmed it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from pipeline import rabbitmq_connection as amqp
from pipeline.errors import ConfigError, PluginError
from pipeline.event import Event
from pipeline.outputs.base import Output, OutputOptions
from pipeline.plugin import Codec, option, register
from pipeline.template import Template

# AMQP basic properties users set in message_properties (Logstash's names, as pika's).
PROPERTY_NAMES = ("content_type", "content_encoding", "priority", "correlation_id", "reply_to", "expiration",
                  "message_id", "timestamp", "type", "user_id", "app_id", "headers")


@register
class Rabbitmq(Output):
    """Publishes each event, encoded with the codec (default json), to ``exchange`` (declared with
    ``exchange_type`` and ``durable``) with the routing ``key`` (sprintf). ``persistent`` messages are
    written to disk by the broker; ``message_properties`` (sprintf values) become AMQP properties.

    Publisher confirms are on: a batch returns only when the broker has taken every message, so nothing the
    pipeline acknowledged upstream is lost. The exchange is declared at the first batch. A broken connection
    blocks and is retried every ``connect_retry_interval`` (backpressure), as Logstash does.
    """

    name = "rabbitmq"

    @dataclass(frozen=True, kw_only=True)
    class Options(OutputOptions, amqp.RabbitmqConnectionOptions):
        exchange: str = option(doc="Exchange to publish to.")
        exchange_type: amqp.ExchangeType = option(doc="Type of the exchange (fanout, direct, topic...).")
        key: Template = option("logstash", "Routing key (sprintf), e.g. logs.%{[service]}.")
        durable: bool = option(True, "Declare the exchange durable.")
        persistent: bool = option(True, "Ask the broker to persist messages (delivery mode 2).")
        message_properties: dict[str, Any] = option({}, 'AMQP properties, e.g. { "content_type" => '
                                                        '"application/json" "priority" => 1 } (sprintf values).')
        codec: Codec = option("json", "Codec encoding each event.")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        unknown = sorted(set(self.options.message_properties) - set(PROPERTY_NAMES))
        if unknown:
            raise ConfigError(f"message_properties: unknown AMQP properties {unknown} (known: {', '.join(PROPERTY_NAMES)})")
        self._properties = {k: Template.compile(v) if isinstance(v, str) else v
                            for k, v in self.options.message_properties.items()}
        self._lock = threading.Lock()
        self._connection: Any = None
        self._channel: Any = None
        self._attempt = 0
        self._closed = False

    def _open(self) -> Any:
        if self._channel is None or not self._channel.is_open:
            import pika

            o = self.options
            self._connection = pika.BlockingConnection(amqp.parameters(o, self._attempt))
            channel = self._connection.channel()
            channel.exchange_declare(o.exchange, exchange_type=o.exchange_type, durable=o.durable, passive=o.passive)
            channel.confirm_delivery()
            self._channel = channel
        return self._channel

    def receive(self, events: list[Event]) -> None:
        messages = [(self.options.key.render(e), self.codec.encode(e), self._message_properties(e)) for e in events]
        with self._lock:
            self._with_retry(lambda: self._publish(messages))

    def _publish(self, messages: list[tuple[str, bytes, Any]]) -> None:
        channel = self._open()
        for key, body, properties in messages:
            channel.basic_publish(self.options.exchange, key, body, properties)

    def _message_properties(self, event: Event) -> Any:
        import pika

        values: dict[str, Any] = {}
        for name, value in self._properties.items():
            rendered = value.render(event) if isinstance(value, Template) else value
            if name in ("priority", "timestamp") and isinstance(rendered, str) and rendered.isdigit():
                rendered = int(rendered)
            values[name] = rendered
        if self.options.persistent:
            values["delivery_mode"] = 2
        return pika.BasicProperties(**values)

    def _with_retry(self, action: Any) -> None:
        import pika.exceptions

        while True:
            try:
                self._open()
                action()
                return
            except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
                # The broker refused some messages: publish the batch again (duplicates over loss).
                self.logger.error("rabbitmq output: broker refused messages (%s); publishing again", exc)
            except amqp.connection_errors() as exc:
                self.logger.error("rabbitmq output: error while publishing to %s: %s: %s; will retry",
                                  amqp.describe(self.options), type(exc).__name__, exc)
                self._disconnect()
                self._attempt += 1
            if self._closed:  # stopping for good: say so rather than let the batch pass as delivered
                raise PluginError(f"rabbitmq output closed before {amqp.describe(self.options)} took the batch")
            time.sleep(self.options.connect_retry_interval)

    def _disconnect(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except amqp.connection_errors():
                pass

    def close(self) -> None:
        self._closed = True
        self._disconnect()
