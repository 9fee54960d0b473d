"""azure_event_hubs input: reads Azure Event Hubs with the official SDK (azure-eventhub), at least once.

Options and defaults are Logstash's logstash-input-azure_event_hubs. One receiving thread per Event Hub runs
``EventHubConsumerClient.receive_batch``; each batch is decoded with the codec and pushed to the queue, and a
partition's checkpoint moves only to events the pipeline has made safe (accepted by a persisted queue, or
through the outputs with the memory queue: pipeline/queue/acks.py), so a restart re-reads rather than loses.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.errors import ConfigError, Location, PluginError
from pipeline.event import Event
from pipeline.inputs._common import resolve_codec
from pipeline.inputs._event_hubs_config import EventHubsConfigError, HubConfig, explode
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import Codec, Secret, no_effect, option, register

# Partition ownership as Logstash's Event Processor Host leases it: renewed every 10 s, another instance (or this one
# restarted after a crash) takes a partition over once its owner has not renewed for 30 s. The SDK's defaults
# (30 s, 180 s) would leave the partitions of a crashed instance unread for 3 minutes.
LOAD_BALANCING_INTERVAL = 10.0
OWNERSHIP_EXPIRATION = 30.0
# Blob requests retried briefly: the SDK retries ownership every LOAD_BALANCING_INTERVAL and a failed checkpoint
# is written at the next one, while the storage client's defaults (15 s backoff growing) stall the reader.
STORAGE_RETRY: dict[str, Any] = {"retry_total": 2, "initial_backoff": 1, "increment_base": 2, "random_jitter_range": 1}
SHUTDOWN_ACK_WAIT = 5.0  # seconds to wait at stop for in-flight events before the last checkpoint
HOUSEKEEPING_WAIT = 1.0  # the SDK calls back at least this often, so checkpoints are written without new events
INSTALL_HINT = "the azure_event_hubs input needs the azure extra: pip install 'pipeline[azure]'"


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be > 0"


def _not_negative(value: float) -> str | None:
    return None if value >= 0 else "must be >= 0 (0: checkpoint after every batch)"


@register
class AzureEventHubs(Input):
    """Reads Azure Event Hubs, checkpointing each partition's position in Azure Blob storage.

    ``config_mode => basic`` takes ``event_hub_connections`` (connection strings with ``EntityPath``) and shares
    every other option; ``advanced`` takes ``event_hubs => [{ "name" => { options }}]`` whose per-hub options
    override the top-level ones.

    With ``storage_connection`` the partitions' offsets are checkpointed to Azure Blob storage (container
    ``storage_container``, default: the Event Hub's name) and instances sharing it split the partitions; without
    it offsets live in memory and ``initial_position`` applies at every start, as in Logstash. A checkpoint moves
    only to events the pipeline has made safe, at most every ``checkpoint_interval`` seconds and at stop.
    ``decorate_events`` adds ``[@metadata][azure_event_hubs][name|consumer_group|processor_host|partition|offset|
    sequence|timestamp|event_size|user_properties]``. Needs the ``azure`` extra (azure-eventhub SDK).
    """

    name = "azure_event_hubs"

    @dataclass(frozen=True, kw_only=True)
    class Options(InputOptions):
        config_mode: Literal["basic", "advanced"] = option(
            "basic", "basic: event_hub_connections; advanced: event_hubs with per-hub options.")
        event_hub_connections: list[Secret] = option(
            [], "basic mode: connection strings, each with EntityPath (the Event Hub to read).")
        event_hubs: list[Any] = option(
            [], "advanced mode: [{ \"name\" => { event_hub_connection => \"...\", other per-hub options } }].")
        event_hub_connection: Secret | None = option(
            None, "advanced mode, inside each event_hubs entry: the namespace's connection string (EntityPath "
                  "optional). Refused at the top level, as in Logstash.")
        storage_connection: Secret | None = option(
            None, "Azure Blob storage connection string for checkpoints and partition ownership.")
        storage_container: str | None = option(None, "Blob container of the checkpoints (default: the hub's name).")
        threads: int = no_effect("one receiving thread per Event Hub, the SDK's threads per partition")
        consumer_group: str = option("$Default", "Consumer group reading the Event Hubs.")
        max_batch_size: int = option(125, "Most events handed over in one batch.", check=_positive)
        prefetch_count: int = option(300, "Events the SDK fetches ahead per partition.", check=_positive)
        receive_timeout: float = option(60, "Seconds a receive link waits on the service before it times out.",
                                        check=_positive)
        initial_position: Literal["beginning", "end", "look_back"] = option(
            "beginning", "Where a partition without checkpoint starts: all events, new ones, or look_back seconds.")
        initial_position_look_back: float = option(
            86400, "Seconds before now to start at with initial_position look_back.", check=_positive)
        checkpoint_interval: float = option(
            5, "Seconds between checkpoints of a partition (0: after every batch).", check=_not_negative)
        decorate_events: bool = option(False, "Add [@metadata][azure_event_hubs][...] (hub, partition, offset...).")
        codec: Codec = option("plain", "Codec decoding each event's body.")

        def __post_init__(self) -> None:
            try:
                explode(self, _convert_per_hub)
            except EventHubsConfigError as exc:
                raise ConfigError(str(exc)) from None

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self.hubs: list[HubConfig] = explode(self.options, _convert_per_hub)
        self._readers: list[_HubReader] = []
        self._stop = threading.Event()

    def register(self) -> None:
        try:
            import azure.eventhub  # noqa: F401
        except ImportError as exc:
            raise PluginError(f"{INSTALL_HINT} ({exc})") from exc
        # The SDK logs every AMQP state change and every Blob request with its headers at INFO: thousands of
        # lines a minute in the pipeline's log. Its warnings and errors still show (and our own messages).
        sdk_logger = logging.getLogger("azure")
        if sdk_logger.level == logging.NOTSET and not logging.getLogger("pipeline").isEnabledFor(logging.DEBUG):
            sdk_logger.setLevel(logging.WARNING)
        for hub in self.hubs:
            if hub.storage_connection is None:
                self.logger.warning("You have NOT specified a `storage_connection_string` for %s. This configuration "
                                    "is only supported for a single Logstash instance.", hub.name)

    async def run(self, ctx: InputContext) -> None:
        self._stop.clear()
        self._readers = [_HubReader(self, hub, ctx, self._stop) for hub in self.hubs]
        threads = [threading.Thread(target=reader.receive, name=f"azure_event_hubs-{reader.hub.name}", daemon=True)
                   for reader in self._readers]
        for thread in threads:
            thread.start()
        while not (ctx.is_stopping or self._stop.is_set()):
            await asyncio.sleep(0.1)
        await asyncio.to_thread(self._shut_down, threads)

    def _shut_down(self, threads: list[threading.Thread]) -> None:
        self._stop.set()
        for reader in self._readers:
            reader.finish()
        for thread in threads:
            thread.join(timeout=30)

    def stop(self) -> None:
        self._stop.set()


def _convert_per_hub(key: str, raw: Any) -> Any:
    """A per-hub value of advanced mode, validated with the top-level option's own rules."""
    info = next(i for i in AzureEventHubs.option_infos() if i.name == key)
    try:
        value = info.convert(raw, Location())
    except (ValueError, ConfigError) as exc:
        raise EventHubsConfigError(f'per-hub option "{key}": {exc}') from None
    problem = info.check(value) if info.check else None
    if problem:
        raise EventHubsConfigError(f'per-hub option "{key}": {problem}')
    return value


class _HubReader:
    """Receives one Event Hub (all its partitions) and checkpoints what the pipeline has made safe."""

    def __init__(self, plugin: AzureEventHubs, hub: HubConfig, ctx: InputContext, stop: threading.Event) -> None:
        self.plugin = plugin
        self.hub = hub
        self.ctx = ctx
        self.stop = stop
        self.logger = logging.getLogger(f"pipeline.inputs.azure_event_hubs.{hub.name}")
        self.errors = RateLimitedLogger(self.logger, interval=30.0)
        # Like the Java processor host's name: tells which instance read an event (decorate_events).
        self.processor_host = f"pipeline-{uuid.uuid4()}"
        # Only the receiving thread decodes (the SDK's sync processor receives its partitions in turn in one
        # thread); flushed after every message, so one codec serves them all (a clone per message costs 5 µs).
        self.codec = resolve_codec(plugin).clone()
        self.client: Any = None
        self.store: Any = None
        self._lock = threading.Lock()
        self._partitions: dict[str, _PartitionProgress] = {}

    # -- receiving -----------------------------------------------------------
    def receive(self) -> None:
        from azure.eventhub import EventHubConsumerClient

        hub = self.hub
        try:
            self.store = self._checkpoint_store()
            self.client = EventHubConsumerClient.from_connection_string(
                hub.connection.reveal(), consumer_group=hub.consumer_group, eventhub_name=hub.name,
                checkpoint_store=self.store, receive_timeout=hub.receive_timeout, logging_enable=False,
                load_balancing_interval=LOAD_BALANCING_INTERVAL,
                partition_ownership_expiration_interval=OWNERSHIP_EXPIRATION)
        except (ValueError, TypeError) as exc:  # refused by the SDK: nothing to retry
            self.logger.error("Event Hub %s failed during initialization: %s", hub.name, exc)
            return
        self.logger.info("Event Hub %s is initializing (consumer group %s, %s).", hub.name, hub.consumer_group,
                         f"checkpoints in container {hub.container}" if self.store else "offsets in memory")
        while not self.stop.is_set():
            try:
                self.client.receive_batch(
                    self._on_batch, max_batch_size=min(hub.max_batch_size, self.ctx.queue.push_limit()),
                    max_wait_time=HOUSEKEEPING_WAIT,
                    prefetch=hub.prefetch_count, starting_position=self._starting_position(),
                    on_error=self._on_error, on_partition_close=self._on_partition_close)
            except Exception as exc:  # noqa: BLE001 - the SDK's errors are many; log and read again
                if self.stop.is_set():
                    break
                self.errors.error("receive", "Event Hub %s encountered an error: %s: %s; receiving again",
                                  hub.name, type(exc).__name__, exc)
                self.stop.wait(5)
        self.logger.info("Event Hub %s is closed.", hub.name)

    def _checkpoint_store(self) -> Any:
        if self.hub.storage_connection is None:
            return None
        from azure.eventhub.extensions.checkpointstoreblob import BlobCheckpointStore

        ensure_container(self.hub.storage_connection.reveal(), self.hub.container, self.logger)
        return BlobCheckpointStore.from_connection_string(self.hub.storage_connection.reveal(), self.hub.container,
                                                          **STORAGE_RETRY)

    def _starting_position(self) -> Any:
        """Where a partition without checkpoint starts (the SDK uses a checkpoint when there is one)."""
        position = self.hub.initial_position
        if position == "end":
            return "@latest"
        if position == "look_back":
            return datetime.datetime.now(datetime.UTC) - datetime.timedelta(
                seconds=self.hub.initial_position_look_back)
        return "-1"

    def _on_batch(self, partition: Any, events: list[Any]) -> None:
        progress = self._progress(partition)
        if events:
            batch = self._decode(partition, events)
            last = events[-1]
            progress.pushed()
            accepted = self.ctx.push_tracked_blocking(batch, lambda: progress.delivered(last), stop=self.stop)
            if not accepted:
                progress.abandoned()
                return  # stopping: these events are read again after the last checkpoint
        self._checkpoint(progress, final=False)

    def _decode(self, partition: Any, events: list[Any]) -> list[Event]:
        out: list[Event] = []
        decorate = self.hub.decorate_events
        for data in events:
            body = _body_bytes(data)
            decoded = list(self.codec.decode(body)) + list(self.codec.flush())  # a message is a whole payload
            if decorate:
                metadata = self._metadata(partition, data, len(body))
                for event in decoded:
                    event.set("[@metadata][azure_event_hubs]", dict(metadata))
            out.extend(decoded)
        return out

    def _metadata(self, partition: Any, data: Any, size: int) -> dict[str, Any]:
        enqueued = data.enqueued_time
        return {
            "name": self.hub.name,
            "consumer_group": self.hub.consumer_group,
            "processor_host": self.processor_host,
            "partition": partition.partition_id,
            "offset": data.offset,
            "sequence": data.sequence_number,
            "timestamp": int(enqueued.timestamp()) if enqueued is not None else None,
            "event_size": size,
            "user_properties": {_text(k): _plain(v) for k, v in (data.properties or {}).items()},
        }

    def _on_error(self, partition: Any, error: Exception) -> None:
        where = f"partition {partition.partition_id}" if partition is not None else "load balancing"
        self.errors.error(f"{where}:{type(error).__name__}", "Event Hub %s, %s: %s: %s (the SDK retries)",
                          self.hub.name, where, type(error).__name__, error)

    def _on_partition_close(self, partition: Any, reason: Any) -> None:
        self.logger.info("Event Hub %s, partition %s is closing (reason=%s).", self.hub.name, partition.partition_id,
                         reason)

    # -- checkpoints ---------------------------------------------------------
    def _progress(self, partition: Any) -> _PartitionProgress:
        with self._lock:
            progress = self._partitions.get(partition.partition_id)
            if progress is None:
                progress = self._partitions[partition.partition_id] = _PartitionProgress(partition)
            progress.context = partition  # a partition re-claimed after a reconnect has a new context
            return progress

    def _checkpoint(self, progress: _PartitionProgress, *, final: bool) -> None:
        # Without storage the partition context holds the SDK's in-memory checkpoint store (Logstash's
        # InMemoryCheckpointManager): a partition re-opened during the run resumes after the last safe event.
        interval = self.hub.checkpoint_interval
        event = progress.due(interval, final)
        if event is None:
            return
        try:
            progress.context.update_checkpoint(event)
        except Exception as exc:  # noqa: BLE001 - storage errors vary; the next checkpoint covers this one
            self.errors.error("checkpoint", "Event Hub %s, partition %s: checkpoint failed: %s: %s",
                              self.hub.name, progress.context.partition_id, type(exc).__name__, exc)
            return
        progress.checkpointed(event)

    def finish(self) -> None:
        """At stop: wait briefly for in-flight events, checkpoint them, close the client."""
        deadline = time.monotonic() + SHUTDOWN_ACK_WAIT
        while time.monotonic() < deadline and any(p.in_flight() for p in list(self._partitions.values())):
            time.sleep(0.05)
        for progress in list(self._partitions.values()):
            self._checkpoint(progress, final=True)
        if self.client is not None:
            try:
                self.client.close()
            except Exception as exc:  # noqa: BLE001 - closing a broken connection may fail too
                self.logger.debug("closing Event Hub %s: %s", self.hub.name, exc)


class _PartitionProgress:
    """The newest event of one partition the pipeline made safe, and the newest checkpointed."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self._lock = threading.Lock()
        self._pushed = 0
        self._safe: Any = None
        self._safe_count = 0
        self._checkpointed_sequence = -1
        self._last_checkpoint = time.monotonic()

    def delivered(self, event: Any) -> None:
        with self._lock:
            if self._safe is None or event.sequence_number > self._safe.sequence_number:
                self._safe = event
            self._safe_count += 1

    def pushed(self) -> None:
        with self._lock:
            self._pushed += 1

    def abandoned(self) -> None:
        with self._lock:
            self._pushed -= 1

    def in_flight(self) -> bool:
        with self._lock:
            return self._pushed > self._safe_count

    def due(self, interval: float, final: bool) -> Any:
        """The event to checkpoint now, or None (nothing new, or too soon)."""
        with self._lock:
            if self._safe is None or self._safe.sequence_number <= self._checkpointed_sequence:
                return None
            if not final and interval > 0 and time.monotonic() - self._last_checkpoint < interval:
                return None
            return self._safe

    def checkpointed(self, event: Any) -> None:
        with self._lock:
            self._checkpointed_sequence = max(self._checkpointed_sequence, event.sequence_number)
            self._last_checkpoint = time.monotonic()


def ensure_container(storage_connection: str, container: str, logger: logging.Logger) -> None:
    """Create the checkpoint container if missing, as Logstash's checkpoint manager does."""
    # The checkpoint store ships its own copy of the Blob client (no azure-storage-blob dependency).
    from azure.eventhub.extensions.checkpointstoreblob._vendor.storage.blob import ContainerClient

    client = ContainerClient.from_connection_string(storage_connection, container, **STORAGE_RETRY)
    try:
        if not client.exists():
            client.create_container()
            logger.info("created checkpoint container %s", container)
    except Exception as exc:  # noqa: BLE001 - created concurrently, or storage unreachable: the store reports it
        logger.debug("checkpoint container %s: %s", container, exc)
    finally:
        client.close()


def _body_bytes(data: Any) -> bytes:
    body = data.body
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    try:
        return b"".join(part if isinstance(part, bytes) else str(part).encode("utf-8") for part in body)
    except TypeError:
        return str(body).encode("utf-8")


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {_text(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.datetime, uuid.UUID)):
        return str(value)
    return value
