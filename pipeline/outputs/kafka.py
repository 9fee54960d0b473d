"""kafka output: produces each event to a topic (sprintf), returning once the brokers have them.

Option names and defaults follow Logstash's logstash-integration-kafka. ``receive`` waits for
every record's delivery report, so the batch is acknowledged to the queue (and to a Kafka or
Redis input upstream) only once the brokers hold it (``acks``). Retriable failures are
retried forever by default (``retries`` unset) so backpressure reaches the inputs; records the
broker refuses for good (too large, unknown topic with auto-creation off) or that exhaust
a finite ``retries`` are logged with their content and counted, never dropped silently.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from pipeline.event import Event
from pipeline.kafka.client_config import KafkaCommonOptions, common_config
from pipeline.outputs.base import Output, OutputOptions
from pipeline.plugin import Codec, no_effect, option, register
from pipeline.template import Template

STRING_SERIALIZER = "org.apache.kafka.common.serialization.StringSerializer"
SERIALIZERS = (STRING_SERIALIZER, "org.apache.kafka.common.serialization.ByteArraySerializer")
# Logstash's names (older releases' too) and the Java classes its partitioner option also takes.
PARTITIONERS = {"default": "murmur2_random", "uniform_sticky": "murmur2_random", "round_robin": "random",
                "org.apache.kafka.clients.producer.internals.DefaultPartitioner": "murmur2_random",
                "org.apache.kafka.clients.producer.UniformStickyPartitioner": "murmur2_random",
                "org.apache.kafka.clients.producer.RoundRobinPartitioner": "random"}


def _check_serializer(value: str) -> str | None:
    return None if value in SERIALIZERS else "use StringSerializer or ByteArraySerializer (org.apache.kafka.common.serialization)"


def _check_partitioner(value: str | None) -> str | None:
    if value is None or value in PARTITIONERS:
        return None
    return "use default, uniform_sticky or round_robin (or their Java classes); custom Java partitioners cannot run here"


@dataclass(frozen=True, kw_only=True)
class KafkaOutputOptions(OutputOptions, KafkaCommonOptions):
    topic_id: Template = option(doc="Topic to produce to; sprintf, e.g. logs-%{[service]}.")
    codec: Codec = option("plain", "Codec encoding each event (json for events another pipeline reads).")
    message_key: Template | None = option(None, "Record key (sprintf); records with one key go to one partition.")
    message_headers: dict[str, Template] = option({}, "Record headers: name => value (sprintf), e.g. "
                                                       "{ \"origin\" => \"%{[host][name]}\" }.")
    acks: Literal["0", "1", "all"] = option("1", "Broker acknowledgements a record needs: 0, 1 (leader) or all (in-sync replicas).")
    batch_size: int = option(16384, "Bytes per partition batch.")
    buffer_memory: int = option(33554432, "Bytes of records buffered waiting to be sent.")
    compression_type: Literal["none", "gzip", "snappy", "lz4", "zstd"] = option("none", "Compression of record batches.")
    client_id: str = option("logstash", "Client id sent to the brokers.")
    key_serializer: str = option(STRING_SERIALIZER, "Keys are sent as UTF-8 text (String/ByteArray serializers).",
                                 check=_check_serializer)
    value_serializer: str = option(STRING_SERIALIZER, "Values are the codec's bytes (String/ByteArray serializers).",
                                   check=_check_serializer)
    # 5, as Logstash's code and docs (the Java client's own default is 0); a batch's flush sends at once anyway.
    linger_ms: int = option(5, "Wait up to this long to fill batches.")
    max_request_size: int = option(1048576, "Largest request (and record) sent.")
    metadata_fetch_timeout_ms: Any = no_effect("Logstash no longer passes it to the Java client either (Kafka "
                                               "removed metadata.fetch.timeout.ms)")
    partitioner: str | None = option(None, "default (murmur2 of the key, like Java), uniform_sticky or round_robin "
                                           "(random here: librdkafka has no round robin).", check=_check_partitioner)
    retries: int | None = option(None, "Unset: retry retriable failures forever (no loss). N: give up after N "
                                       "attempts, logging the events (data loss, as in Logstash).",
                                 check=lambda v: None if v is None or v >= 0 else "must be >= 0")
    delivery_timeout_ms: int = option(120000, "How long librdkafka tries one record before reporting a failure.")


class _Record(NamedTuple):
    topic: str
    value: bytes
    key: bytes | None
    headers: list[tuple[str, str | bytes | None]] | None  # None: no headers (the common case, produce() without them)


class _Outcome:
    """Delivery reports of one send: which records failed, and how."""

    def __init__(self) -> None:
        self.retriable: list[int] = []
        self.fatal: list[tuple[int, str]] = []
        self.lock = threading.Lock()

    def callback(self, index: int) -> Any:
        def report(error: Any, _message: Any) -> None:
            if error is None:
                return
            with self.lock:
                if _transient(error):
                    self.retriable.append(index)
                else:
                    self.fatal.append((index, str(error)))
        return report


def _transient(error: Any) -> bool:
    """Worth sending again: the broker may come back (timeouts, no leader, not enough replicas)."""
    from confluent_kafka import KafkaError

    return bool(error.retriable()) or error.code() in (
        KafkaError._MSG_TIMED_OUT, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN,
        KafkaError.REQUEST_TIMED_OUT, KafkaError.NOT_ENOUGH_REPLICAS)


@register
class Kafka(Output):
    """Writes events to Kafka topics; a batch returns once every record is delivered."""

    name = "kafka"
    Options = KafkaOutputOptions

    def register(self) -> None:
        from confluent_kafka import Producer

        opts = self.options
        if opts.retries is not None:
            self.logger.warning("kafka output: retries => %d: events still failing after that many attempts are "
                                "logged and dropped; remove retries to retry until Kafka is back", opts.retries)
        self._producer = Producer(self.producer_config(), logger=self.logger)
        self.rejected = 0

    def producer_config(self) -> dict[str, Any]:
        opts = self.options
        conf = common_config(opts, opts.client_id)
        conf.update({
            "acks": opts.acks if opts.acks != "all" else -1,
            "batch.size": opts.batch_size,
            "compression.type": opts.compression_type,
            "linger.ms": opts.linger_ms,
            "message.max.bytes": opts.max_request_size,
            "queue.buffering.max.kbytes": max(1, opts.buffer_memory // 1024),
            "delivery.timeout.ms": opts.delivery_timeout_ms,
            "partitioner": PARTITIONERS[opts.partitioner or "default"],
        })
        return conf

    def receive(self, events: list[Event]) -> None:
        records = [self._record(event) for event in events]
        pending = list(range(len(records)))
        attempts = 0
        while pending:
            outcome = self._send(records, pending)
            for index, reason in outcome.fatal:
                self._reject(records[index], reason)
            pending = sorted(outcome.retriable)
            if not pending:
                return
            attempts += 1
            if self.options.retries is not None and attempts > self.options.retries:
                for index in pending:
                    self._reject(records[index], f"still failing after {attempts} attempts (retries)")
                return
            self.logger.warning("kafka output: %d of %d records not delivered (broker unavailable?); retrying",
                                len(pending), len(records))
            time.sleep(min(30.0, self.options.retry_backoff_ms / 1000 * 2 ** min(attempts, 8)))

    def _record(self, event: Event) -> _Record:
        opts = self.options
        key = opts.message_key.render(event).encode() if opts.message_key else None
        headers: list[tuple[str, str | bytes | None]] | None = [
            (name, value.render(event).encode()) for name, value in opts.message_headers.items()] or None
        return _Record(opts.topic_id.render(event), self.codec.encode(event), key, headers)

    def _send(self, records: list[_Record], indexes: list[int]) -> _Outcome:
        outcome = _Outcome()
        producer = self._producer
        for index in indexes:
            topic, value, key, headers = records[index]
            while True:
                try:
                    if headers is None:
                        producer.produce(topic, value, key, on_delivery=outcome.callback(index))
                    else:
                        producer.produce(topic, value, key, headers=headers, on_delivery=outcome.callback(index))
                    break
                except BufferError:  # local queue full: let deliveries drain
                    producer.poll(0.1)
                except Exception as exc:  # noqa: BLE001 - e.g. an invalid topic name from sprintf
                    outcome.fatal.append((index, f"{type(exc).__name__}: {exc}"))
                    break
            producer.poll(0)
        while producer.flush(1.0) > 0:
            pass
        return outcome

    def _reject(self, record: _Record, reason: str) -> None:
        self.rejected += 1
        if self.context.metrics is not None:
            self.context.metrics.add(failures=1)
        self.logger.error("kafka output: record for topic %r rejected: %s; value: %s", record.topic, reason,
                          record.value[:2000].decode("utf-8", "replace"))

    def flush(self) -> None:
        self._producer.flush(10)

    def close(self) -> None:
        producer = getattr(self, "_producer", None)
        if producer is not None:
            remaining = producer.flush(10)
            if remaining:
                self.logger.error("kafka output: %d records still undelivered at close", remaining)

