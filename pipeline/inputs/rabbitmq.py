"""rabbitmq input: consume a RabbitMQ queue; a message is acknowledged once its events are in the queue."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pipeline import rabbitmq_connection as amqp
from pipeline.event import Event
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import Codec, option, register

# The properties Logstash copies to [@metadata][rabbitmq_properties] (names with hyphens, as there).
PROPERTIES = ("app_id", "cluster_id", "content_encoding", "content_type", "correlation_id", "delivery_mode",
              "expiration", "message_id", "priority", "reply_to", "timestamp", "type", "user_id")
METADATA_LEVELS = {"none": (), "basic": ("headers", "properties"), "extended": ("headers", "properties", "payload"),
                   "false": (), "true": ("headers", "properties")}


@register
class Rabbitmq(Input):
    """Consumes ``queue`` (declared with ``durable``/``exclusive``/``auto_delete``/``arguments`` unless
    ``passive``; a server-named transient queue when empty), bound to ``exchange`` with ``key`` (the exchange
    is declared when ``exchange_type`` is set). Each message body is decoded with the codec (default json).

    At least once: with ``ack`` (default) a message is acknowledged only after its events are in the
    pipeline's queue; messages unacknowledged at a stop or a crash are delivered again by the broker. A lost
    connection is retried every ``subscription_retry_interval_seconds``. ``metadata_enabled`` copies the
    message headers to ``[@metadata][rabbitmq_headers]``, its properties to ``[@metadata][rabbitmq_properties]``
    (``basic``) and the raw body to ``[@metadata][rabbitmq_payload]`` (``extended``).
    """

    name = "rabbitmq"

    @dataclass(frozen=True, kw_only=True)
    class Options(InputOptions, amqp.RabbitmqConnectionOptions):
        queue: str = option("", "Queue to consume; empty = a transient queue named by the server.")
        durable: bool = option(False, "Declare the queue (and exchange) durable.")
        auto_delete: bool = option(False, "The broker deletes the queue when its last consumer leaves.")
        exclusive: bool = option(False, "The queue belongs to this connection only.")
        exchange: str | None = option(None, "Exchange to bind the queue to.")
        exchange_type: amqp.ExchangeType | None = option(None, "Declare the exchange with this type.")
        key: str = option("logstash", "Routing key of the binding.")
        ack: bool = option(True, "Acknowledge messages once their events are queued (off: auto-ack on delivery).")
        prefetch_count: int = option(256, "Unacknowledged messages the broker may send ahead.")
        threads: int = option(1, "Accepted; one consumer per input.")
        subscription_retry_interval_seconds: float = option(5, "Wait before subscribing again after a failure.")
        metadata_enabled: Literal["none", "basic", "extended", "false", "true"] = option(
            "none", "Copy headers and properties (basic) and the body (extended) into @metadata.")
        codec: Codec = option("json", "Codec decoding each message body.")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._metadata = METADATA_LEVELS[self.options.metadata_enabled]
        if self.options.metadata_enabled in ("true", "false"):
            canonical = "basic" if self.options.metadata_enabled == "true" else "none"
            self.logger.warning("Deprecated value `%s` for `metadata_enabled` option; use `%s` instead.",
                                self.options.metadata_enabled, canonical)
        self._log = logging.getLogger(f"pipeline.inputs.rabbitmq.{self.context.plugin_id or 'rabbitmq'}")
        self._connection: Any = None

    async def run(self, ctx: InputContext) -> None:
        await ctx.run_blocking(self._consume_forever, ctx)

    def _consume_forever(self, ctx: InputContext) -> None:
        attempt = 0
        while not ctx.is_stopping:
            try:
                self._consume(ctx, attempt)
            except amqp.connection_errors() as exc:
                self._log.warning("rabbitmq input: %s: %s: %s; subscribing again in %ss", amqp.describe(self.options),
                                  type(exc).__name__, exc, self.options.subscription_retry_interval_seconds)
                self._close()
                attempt += 1
                deadline = time.monotonic() + self.options.subscription_retry_interval_seconds
                while time.monotonic() < deadline and not ctx.is_stopping:
                    time.sleep(0.05)
        self._close()

    def _consume(self, ctx: InputContext, attempt: int) -> None:
        import pika

        o = self.options
        self._connection = pika.BlockingConnection(amqp.parameters(o, attempt))
        channel = self._connection.channel()
        declared = channel.queue_declare(o.queue, passive=o.passive, durable=o.durable, exclusive=o.exclusive,
                                         auto_delete=o.auto_delete, arguments=o.arguments or None)
        queue = declared.method.queue
        if o.exchange:
            if o.exchange_type:
                channel.exchange_declare(o.exchange, exchange_type=o.exchange_type, durable=o.durable)
            channel.queue_bind(queue, o.exchange, routing_key=o.key)
        channel.basic_qos(prefetch_count=o.prefetch_count)
        self._log.info("rabbitmq input: consuming %r at %s", queue, amqp.describe(o))
        batch: list[Event] = []
        push_size = min(o.prefetch_count, ctx.queue.push_limit())
        last_tag: int | None = None
        for method, properties, body in channel.consume(queue, auto_ack=not o.ack, inactivity_timeout=0.1):
            if method is not None:
                batch.extend(self._events(method, properties, body))
                last_tag = method.delivery_tag
            if batch and (method is None or len(batch) >= push_size):
                if not _push_unless_stopping(ctx, batch):
                    break  # stopping: the broker delivers the unacknowledged messages again later
                batch = []
            if last_tag is not None and not batch:
                if o.ack:
                    channel.basic_ack(last_tag, multiple=True)
                last_tag = None
            if ctx.is_stopping:
                break
        self._close()

    def _events(self, method: Any, properties: Any, body: bytes) -> list[Event]:
        codec = self.codec.clone()
        events = list(codec.decode(body)) + list(codec.flush())
        if not self._metadata:
            return events
        for event in events:
            if "headers" in self._metadata:
                event.set("[@metadata][rabbitmq_headers]", _plain(properties.headers or {}))
            if "properties" in self._metadata:
                event.set("[@metadata][rabbitmq_properties]", self._properties(method, properties))
            if "payload" in self._metadata:
                event.set("[@metadata][rabbitmq_payload]", body.decode("utf-8", errors="replace"))
        return events

    @staticmethod
    def _properties(method: Any, properties: Any) -> dict[str, Any]:
        values: dict[str, Any] = {"consumer-tag": method.consumer_tag, "exchange": method.exchange,
                                  "redeliver": method.redelivered, "routing-key": method.routing_key}
        for name in PROPERTIES:
            value = getattr(properties, name, None)
            if value is not None:
                values[name.replace("_", "-")] = value
        return values

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except amqp.connection_errors():
                pass

    def stop(self) -> None:
        """The consume loop notices ctx.stopping within 0.1 s and closes its connection itself."""


def _push_unless_stopping(ctx: InputContext, batch: list[Event]) -> bool:
    """Waits for room in the pipeline's queue; at a stop, gives up (the messages stay in the broker)."""
    if ctx.push_blocking(batch, timeout=0.2):  # decorates the events once
        return True
    while not ctx.is_stopping:
        if ctx.queue.put_blocking(batch, timeout=0.2, stopping=ctx.stopping):
            return True
    return False


def _plain(value: Any) -> Any:
    """Header tables as event values (bytes as text, AMQP timestamps as seconds)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, datetime):
        return int(value.timestamp())
    return value
