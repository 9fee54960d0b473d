"""redis output: RPUSH to a list or PUBLISH to a channel; Logstash's option names.

A batch returns once Redis has every event, so a broker input upstream commits only then.
Connection failures are retried forever (``reconnect_interval``), moving to the next of
``host`` (shuffled once with ``shuffle_hosts``): backpressure, no loss. With
``congestion_threshold``, writing to a list waits while it holds more items than that (a
consumer is behind), checking every ``congestion_interval``.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.event import Event
from pipeline.outputs.base import Output, OutputOptions
from pipeline.plugin import Codec, Duration, option, register
from pipeline.redis_connection import RedisConnectionOptions, connect, split_host
from pipeline.template import Template


@dataclass(frozen=True, kw_only=True)
class RedisOutputOptions(OutputOptions, RedisConnectionOptions):
    codec: Codec = option("json", "Codec encoding each event.")
    host: list[str] = option(["127.0.0.1"], "Servers, host or host:port; the first reachable one is used.")
    shuffle_hosts: bool = option(True, "Shuffle the host list once at start (spreads several pipelines).")
    # The plugin's docs still describe `ssl` (its code has only ssl_enabled): kept as the old name.
    ssl_enabled: bool = option(False, "Connect with TLS (ssl_* options: CAs, client certificate, versions).",
                               aliases=("ssl",))
    key: Template = option(doc="List or channel name; sprintf, e.g. logstash-%{type}.")
    data_type: Literal["list", "channel"] = option(doc="list: RPUSH; channel: PUBLISH.")
    batch: bool = option(False, "list: one RPUSH with many events (up to batch_events) instead of one per event.")
    batch_events: int = option(50, "Events per RPUSH with batch.", check=lambda v: None if v >= 1 else "must be >= 1")
    batch_timeout: int = option(5, "Kept for Logstash configs: batches here are the pipeline's batches, sent at once.")
    reconnect_interval: Duration = option(Duration(1), "Wait between attempts after a connection failure.")
    congestion_threshold: int = option(0, "list: wait while it holds more than this many items (0 = never).")
    congestion_interval: Duration = option(Duration(1), "How often the list length is checked when congested.")

    @property
    def tls(self) -> bool:
        return self.ssl_enabled


@register
class Redis(Output):
    """Writes events to a Redis list (a light broker) or publishes them on a channel."""

    name = "redis"
    Options = RedisOutputOptions
    concurrency = "single"

    def register(self) -> None:
        opts = self.options
        ignored = opts.ignored_tls_settings()
        if ignored:
            self.logger.warning("Configured SSL settings are not used when `ssl_enabled` is set to `false`: %s",
                                ignored)
        self._hosts = [split_host(h, opts.port) for h in opts.host] or [("127.0.0.1", opts.port)]
        if opts.shuffle_hosts:
            random.shuffle(self._hosts)
        self._next_host = 0
        self._client: Any = None
        self._congestion_checked: dict[str, float] = {}

    def _connection(self) -> Any:
        if self._client is None:
            host, port = self._hosts[self._next_host % len(self._hosts)]
            self._next_host += 1
            self._client = connect(self.options, host, port)
        return self._client

    def receive(self, events: list[Event]) -> None:
        by_key: dict[str, list[bytes]] = defaultdict(list)
        for event in events:
            by_key[self.options.key.render(event)].append(self.codec.encode(event))
        for key, payloads in by_key.items():
            self._with_retry(lambda key=key, payloads=payloads: self._write(key, payloads))

    def _with_retry(self, action: Any) -> None:
        import redis

        while True:
            try:
                action()
                return
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                host = self._hosts[(self._next_host - 1) % len(self._hosts)]
                self.logger.warning("redis output: %s (%s:%s); retrying in %.1fs", exc, host[0], host[1],
                                    float(self.options.reconnect_interval))
                if self._client is not None:
                    self._client.close()
                self._client = None
                time.sleep(float(self.options.reconnect_interval))

    def _write(self, key: str, payloads: list[bytes]) -> None:
        client = self._connection()
        if self.options.data_type == "channel":
            with client.pipeline(transaction=False) as pipe:
                for payload in payloads:
                    pipe.publish(key, payload)
                pipe.execute()
            return
        self._wait_congestion(client, key)
        step = self.options.batch_events if self.options.batch else 1
        with client.pipeline(transaction=False) as pipe:
            for start in range(0, len(payloads), step):
                pipe.rpush(key, *payloads[start:start + step])
            pipe.execute()

    def _wait_congestion(self, client: Any, key: str) -> None:
        threshold = self.options.congestion_threshold
        if threshold <= 0:
            return
        interval = float(self.options.congestion_interval)
        now = time.monotonic()
        if now - self._congestion_checked.get(key, 0.0) < interval:
            return
        while client.llen(key) > threshold:
            self.logger.warning("redis output: list %s holds more than %d items (congestion_threshold); waiting",
                                key, threshold)
            time.sleep(interval)
        self._congestion_checked[key] = time.monotonic()
