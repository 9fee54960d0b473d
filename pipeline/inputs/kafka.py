"""kafka input: consumes topics as a member of a consumer group, at-least-once.

Option names and defaults follow Logstash's logstash-integration-kafka. Offsets are
committed only once the events read before them are safe: accepted by a persisted
queue, or handled by the outputs with the memory queue (pipeline/queue/acks.py), so a
kill -9 re-reads instead of losing. ``enable_auto_commit => true`` (default) stores
those offsets for librdkafka's periodic commit; ``false`` commits them synchronously.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.inputs._common import resolve_codec
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.kafka.client_config import KafkaCommonOptions, common_config
from pipeline.kafka.progress import OffsetProgress, Poll
from pipeline.plugin import Codec, no_effect, option, register, unsupported

STRING_DESERIALIZER = "org.apache.kafka.common.serialization.StringDeserializer"
BYTES_DESERIALIZERS = (STRING_DESERIALIZER, "org.apache.kafka.common.serialization.ByteArrayDeserializer")
ASSIGNORS = {"range": "range", "round_robin": "roundrobin", "cooperative_sticky": "cooperative-sticky",
             "sticky": "cooperative-sticky",
             "org.apache.kafka.clients.consumer.RangeAssignor": "range",
             "org.apache.kafka.clients.consumer.RoundRobinAssignor": "roundrobin",
             "org.apache.kafka.clients.consumer.StickyAssignor": "cooperative-sticky",
             "org.apache.kafka.clients.consumer.CooperativeStickyAssignor": "cooperative-sticky"}
SHUTDOWN_ACK_WAIT = 5.0  # seconds to wait, at stop or revocation, for in-flight events before committing
# Logstash's defaults of the options group_protocol => consumer leaves to the broker.
HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS = 3000, 10000
_ONLY_WITH_REGISTRY = "used only with schema_registry_url (Avro), which this input refuses"
# Kafka's internal topics (the Java client's Topic.isInternal, and Kafka 4's share groups): a librdkafka
# pattern subscription matches them, the Java client's (exclude.internal.topics true) does not.
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state", "__share_group_state"})


def _check_deserializer(value: str) -> str | None:
    return None if value in BYTES_DESERIALIZERS else ("use StringDeserializer or ByteArrayDeserializer "
                                                      "(org.apache.kafka.common.serialization) and a codec")


def _check_assignor(value: str | None) -> str | None:
    if value is None or value in ASSIGNORS:
        return None
    return f"unsupported partition_assignment_strategy {value!r}: use range, round_robin, sticky or cooperative_sticky"


@dataclass(frozen=True, kw_only=True)
class KafkaInputOptions(InputOptions, KafkaCommonOptions):
    codec: Codec = option("plain", "Codec decoding each record's value (json for JSON events).")
    topics: list[str] = option(["logstash"], "Topics to subscribe to.")
    topics_pattern: str | None = option(None, "Regex of topics to subscribe to (whole name); topics is then ignored.")
    group_id: str = option("logstash", "Consumer group: instances with the same group_id share the partitions.")
    group_instance_id: str | None = option(None, "Static membership id (suffixed -N per consumer thread when several).")
    client_id: str = option("logstash", "Client id sent to the brokers (suffixed -N per consumer thread).")
    consumer_threads: int = option(1, "Consumers run in parallel (ideally partitions / instances).",
                                   check=lambda v: None if v >= 1 else "must be >= 1")
    auto_offset_reset: Literal["earliest", "latest", "none"] | None = option(
        None, "Where to start without a committed offset: earliest, latest (Kafka default) or none (error).")
    enable_auto_commit: bool = option(True, "true: librdkafka commits the acknowledged offsets every "
                                            "auto_commit_interval_ms; false: commit after every acknowledged poll.")
    auto_commit_interval_ms: int = option(5000, "How often acknowledged offsets are committed (auto commit).")
    auto_create_topics: bool = option(True, "Let the broker create a missing topic on subscription (if it allows).")
    check_crcs: bool = option(True, "Verify record CRC32s.")
    decorate_events: Literal["none", "basic", "extended", "false", "true"] = option(
        "none", "basic: [@metadata][kafka][topic|consumer_group|partition|offset|key|timestamp]; "
                "extended: also [@metadata][kafka][headers][NAME]. true/false are the old spellings.")
    # A string in Logstash ("true"/"false", passed to the Java client); both spellings are taken here.
    exclude_internal_topics: bool | None = option(
        None, "topics_pattern: records of Kafka's internal topics (__consumer_offsets...) are skipped unless "
              "false (unset = the Java client's default, true).")
    fetch_max_bytes: int = option(52428800, "Most data a fetch returns.")
    fetch_max_wait_ms: int = option(500, "Longest a broker waits to fill fetch_min_bytes.")
    fetch_min_bytes: int | None = option(None, "Least data a fetch waits for.")
    group_protocol: Literal["classic", "consumer"] = option(
        "classic", "consumer: the broker-driven group protocol of Kafka 4 (KIP-848); heartbeat_interval_ms, "
                   "session_timeout_ms and partition_assignment_strategy are then the broker's.")
    heartbeat_interval_ms: int = option(HEARTBEAT_INTERVAL_MS, "Group heartbeat interval.")
    isolation_level: Literal["read_uncommitted", "read_committed"] = option(
        "read_uncommitted", "read_committed: skip records of aborted transactions.")
    key_deserializer_class: str = option(STRING_DESERIALIZER, "Key bytes are read as UTF-8 text (String/ByteArray deserializers).",
                                         check=_check_deserializer)
    value_deserializer_class: str = option(STRING_DESERIALIZER, "Value bytes go to the codec (String/ByteArray deserializers).",
                                           check=_check_deserializer)
    max_partition_fetch_bytes: int = option(1048576, "Most data per partition per fetch.")
    max_poll_interval_ms: int = option(300000, "Longest time between polls before the group evicts this consumer.")
    max_poll_records: int = option(500, "Most records handled per poll (one queue batch).")
    partition_assignment_strategy: str | None = option(
        None, "range, round_robin, sticky or cooperative_sticky (librdkafka has no eager sticky: "
              "sticky uses cooperative_sticky).", check=_check_assignor)
    poll_timeout_ms: int = option(100, "How long a poll waits for records.")
    session_timeout_ms: int = option(SESSION_TIMEOUT_MS, "A consumer silent this long is evicted from the group.")
    client_rack: str | None = option(None, "Rack of this client, for fetching from the closest replica.")
    schema_registry_url: Any = unsupported("Avro decoding through a schema registry is not available in this kafka "
                                           "input; records would reach the codec as Avro bytes")
    schema_registry_key: Any = no_effect(_ONLY_WITH_REGISTRY)
    schema_registry_secret: Any = no_effect(_ONLY_WITH_REGISTRY)
    schema_registry_proxy: Any = no_effect(_ONLY_WITH_REGISTRY)
    schema_registry_validation: Any = no_effect(_ONLY_WITH_REGISTRY)
    schema_registry_ssl_keystore_location: Any = no_effect(_ONLY_WITH_REGISTRY)
    schema_registry_ssl_keystore_password: Any = no_effect(_ONLY_WITH_REGISTRY)
    schema_registry_ssl_keystore_type: Any = no_effect(_ONLY_WITH_REGISTRY)
    schema_registry_ssl_truststore_location: Any = no_effect(_ONLY_WITH_REGISTRY)
    schema_registry_ssl_truststore_password: Any = no_effect(_ONLY_WITH_REGISTRY)
    schema_registry_ssl_truststore_type: Any = no_effect(_ONLY_WITH_REGISTRY)

    def __post_init__(self) -> None:
        # As Logstash's set_group_protocol!: with the consumer protocol the broker owns these settings.
        if self.group_protocol == "consumer" and (
                self.partition_assignment_strategy is not None or self.heartbeat_interval_ms != HEARTBEAT_INTERVAL_MS
                or self.session_timeout_ms != SESSION_TIMEOUT_MS):
            raise ConfigError("group_protocol cannot be set to 'consumer' when any of partition_assignment_strategy, "
                              "heartbeat_interval_ms or session_timeout_ms is set")

@register
class Kafka(Input):
    """Reads records from Kafka topics in a consumer group; offsets committed only for safe events."""

    name = "kafka"
    Options = KafkaInputOptions

    def register(self) -> None:
        opts = self.options
        level = {"true": "basic", "false": "none"}.get(opts.decorate_events, opts.decorate_events)
        if level != opts.decorate_events:
            self.logger.warning('decorate_events => "%s" is deprecated, use "%s"', opts.decorate_events, level)
        self._metadata = level
        # librdkafka's pattern subscription also assigns internal topics: their records are skipped instead.
        self._skip_internal = bool(opts.topics_pattern) and opts.exclude_internal_topics is not False
        self.consumer_config(0)  # a JKS store or an unreadable jaas_path fails here, not in a consumer thread
        self._stop = threading.Event()
        self.counters: collections.Counter[str] = collections.Counter()

    def consumer_config(self, number: int) -> dict[str, Any]:
        """librdkafka settings for consumer thread ``number`` (Logstash's create_consumer)."""
        opts = self.options
        conf = common_config(opts, f"{opts.client_id}-{number}")
        conf.update({
            "group.id": opts.group_id,
            # Offsets are stored only once the pipeline acknowledged the events (see module docstring).
            "enable.auto.commit": opts.enable_auto_commit,
            "enable.auto.offset.store": False,
            "auto.commit.interval.ms": opts.auto_commit_interval_ms,
            "allow.auto.create.topics": opts.auto_create_topics,
            "check.crcs": opts.check_crcs,
            "fetch.max.bytes": opts.fetch_max_bytes,
            "fetch.wait.max.ms": opts.fetch_max_wait_ms,
            "group.protocol": opts.group_protocol,
            "isolation.level": opts.isolation_level,
            "max.partition.fetch.bytes": opts.max_partition_fetch_bytes,
            "max.poll.interval.ms": opts.max_poll_interval_ms,
        })
        if opts.group_protocol == "classic":  # librdkafka refuses them with the consumer protocol
            conf["heartbeat.interval.ms"] = opts.heartbeat_interval_ms
            conf["session.timeout.ms"] = opts.session_timeout_ms
        if opts.auto_offset_reset is not None:
            conf["auto.offset.reset"] = "error" if opts.auto_offset_reset == "none" else opts.auto_offset_reset
        if opts.fetch_min_bytes is not None:
            conf["fetch.min.bytes"] = opts.fetch_min_bytes
        if opts.group_instance_id:
            suffix = f"-{number}" if opts.consumer_threads > 1 else ""
            conf["group.instance.id"] = opts.group_instance_id + suffix
        if opts.partition_assignment_strategy:
            conf["partition.assignment.strategy"] = ASSIGNORS[opts.partition_assignment_strategy]
        if opts.client_rack:
            conf["client.rack"] = opts.client_rack
        return conf

    def subscription(self) -> list[str]:
        if self.options.topics_pattern:
            # Java matches the whole name; librdkafka treats a leading ^ as a regex subscription.
            return [f"^({self.options.topics_pattern})$"]
        return list(self.options.topics)

    async def run(self, ctx: InputContext) -> None:
        self._stop.clear()
        readers = [ctx.run_blocking(self._consume, ctx, number) for number in range(self.options.consumer_threads)]
        await asyncio.gather(*readers)

    def stop(self) -> None:
        self._stop.set()

    # -- one consumer thread ------------------------------------------------
    def _consume(self, ctx: InputContext, number: int) -> None:
        from confluent_kafka import Consumer

        progress = OffsetProgress()
        consumer = Consumer(self.consumer_config(number), logger=self.logger)
        committer = _Committer(consumer, progress, self.options.enable_auto_commit, self.logger)
        consumer.subscribe(self.subscription(), on_revoke=committer.on_revoke, on_lost=committer.on_lost)
        codec = resolve_codec(self).clone()
        timeout = self.options.poll_timeout_ms / 1000
        poll_size = min(self.options.max_poll_records, ctx.queue.push_limit())  # a poll is one push
        try:
            while not (ctx.is_stopping or self._stop.is_set()):
                committer.commit_ready()
                records = consumer.consume(num_messages=poll_size, timeout=timeout)
                if not records:
                    continue
                events, next_offsets = self._decode(records, codec)
                poll = progress.add(next_offsets)
                if not ctx.push_tracked_blocking(events, _done(progress, poll), self._stop):
                    progress.discard(poll)
                    break
        finally:
            # The workers still drain the queue while inputs stop: commit what they finish in time.
            progress.wait_all_done(SHUTDOWN_ACK_WAIT)
            committer.commit_ready(final=True)
            consumer.close()

    def _decode(self, records: list[Any], codec: Any) -> tuple[list[Event], dict[tuple[str, int], int]]:
        from confluent_kafka import KafkaError

        events: list[Event] = []
        next_offsets: dict[tuple[str, int], int] = {}
        for record in records:
            error = record.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:  # informational only
                    self.counters["kafka_errors"] += 1
                    self.logger.error("kafka input: consumer error: %s", error)
                continue
            if self._skip_internal and record.topic() in INTERNAL_TOPICS:
                continue
            next_offsets[(record.topic(), record.partition())] = record.offset() + 1
            value = record.value()
            if value is None:  # a tombstone: nothing to decode
                continue
            decoded = list(codec.decode(value)) + list(codec.flush())
            if self._metadata != "none":
                for event in decoded:
                    self._set_metadata(event, record)
            events.extend(decoded)
        return events, next_offsets

    def _set_metadata(self, event: Event, record: Any) -> None:
        key = record.key()
        kafka: dict[str, Any] = {
            "topic": record.topic(), "consumer_group": self.options.group_id,
            "partition": record.partition(), "offset": record.offset(),
            "key": key.decode("utf-8", "replace") if key is not None else None,
            "timestamp": record.timestamp()[1],
        }
        if self._metadata == "extended":
            headers: dict[str, str] = {}
            for name, raw in record.headers() or ():
                if name is None or raw is None:
                    continue
                try:
                    headers[name] = raw.decode("utf-8")
                except UnicodeDecodeError:
                    continue  # as Logstash: headers that are not valid UTF-8 are skipped
            kafka["headers"] = headers
        event.metadata["kafka"] = kafka


def _done(progress: OffsetProgress, poll: Poll) -> Any:
    return lambda: progress.mark_done(poll)


class _Committer:
    """Stores (auto commit) or commits (manual) the acknowledged offsets of one consumer."""

    def __init__(self, consumer: Any, progress: OffsetProgress, auto_commit: bool, logger: Any) -> None:
        self.consumer = consumer
        self.progress = progress
        self.auto_commit = auto_commit
        self.logger = logger

    def commit_ready(self, final: bool = False) -> None:
        from confluent_kafka import KafkaException, TopicPartition

        positions = self.progress.committable()
        if not positions:
            return
        offsets = [TopicPartition(topic, partition, offset) for (topic, partition), offset in positions.items()]
        try:
            if self.auto_commit:
                self.consumer.store_offsets(offsets=offsets)
                if final:
                    self.consumer.commit(asynchronous=False)
            else:
                self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # E.g. partitions revoked meanwhile: their new owner re-reads them (at-least-once).
            self.logger.warning("kafka input: could not commit offsets %s: %s", positions, exc)

    def on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        """Before giving partitions away: commit what the pipeline finishes in time, forget the rest."""
        self.progress.wait_all_done(SHUTDOWN_ACK_WAIT)
        self.commit_ready(final=True)
        self.progress.forget((p.topic, p.partition) for p in partitions)

    def on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        self.progress.forget((p.topic, p.partition) for p in partitions)
