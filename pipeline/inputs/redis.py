"""redis input: reads a list (as a queue) or subscribes to channels; Logstash's option names.

``data_type => list``: each thread moves up to ``batch_count`` items at a time from ``key``
into its own processing list (LMOVE, atomic in a Lua script; BLMOVE waits when the list is
empty) and trims them from it only once the pipeline has them safe (persisted queue, or
through the outputs: pipeline/queue/acks.py). After a crash, the items left in the
processing list are read again first: at-least-once. ``reliable => false`` pops instead,
as Logstash does (a crash loses what was popped and not yet output).
``channel`` / ``pattern_channel``: Redis pub/sub has no delivery guarantee; messages
published while no subscriber listens, or while the pipeline is down, are gone.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.event import Event
from pipeline.inputs._common import push_until_accepted, resolve_codec
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.kafka.progress import OffsetProgress
from pipeline.plugin import Codec, option, register
from pipeline.redis_connection import RedisConnectionOptions, connect, renamed

RECONNECT_DELAY = 1.0
WAIT_TIMEOUT = 1  # seconds a blocking read waits, so a stop is noticed
SHUTDOWN_ACK_WAIT = 5.0

# Moves up to ARGV[1] items from KEYS[1] to the tail of KEYS[2], atomically; returns them in order.
# {lmove}: the command's name on the server (command_map), as Logstash names lrange/ltrim in its script.
MOVE_BATCH = """
local moved = {{}}
for i = 1, tonumber(ARGV[1]) do
  local item = redis.call('{lmove}', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
  if not item then break end
  moved[i] = item
end
return moved
"""


@dataclass(frozen=True, kw_only=True)
class RedisInputOptions(InputOptions, RedisConnectionOptions):
    codec: Codec = option("json", "Codec decoding each item or message (json, as Logstash's redis input).")
    host: str = option("127.0.0.1", "Redis server.")
    ssl: bool = option(False, "Connect with TLS (ssl_* options: CAs, client certificate, versions).")
    key: str = option(doc="The list, channel, or channel pattern (pattern_channel) to read.")
    data_type: Literal["list", "channel", "pattern_channel"] = option(
        doc="list: consume the list as a queue; channel: SUBSCRIBE to key; pattern_channel: PSUBSCRIBE to key.")
    batch_count: int = option(125, "Items taken from the list per round trip.",
                              check=lambda v: None if v >= 1 else "must be >= 1")
    threads: int = option(1, "Reader threads (connections).", check=lambda v: None if v >= 1 else "must be >= 1")
    reliable: bool = option(True, "list: keep items in a per-thread processing list until the pipeline has them "
                                  "safe (at-least-once); false pops them (a crash loses in-flight items).")
    processing_key: str | None = option(None, "Name prefix of the processing lists (one per thread, suffixed "
                                              ":N); default KEY:processing:HOST:PIPELINE_ID:PLUGIN_ID. Keep it "
                                              "stable across restarts so leftovers are recovered.")

    @property
    def tls(self) -> bool:
        return self.ssl


@register
class Redis(Input):
    """Reads events from a Redis list (at-least-once) or from pub/sub channels."""

    name = "redis"
    Options = RedisInputOptions

    def register(self) -> None:
        ignored = self.options.ignored_tls_settings()
        if ignored:
            self.logger.warning("Configured SSL settings are not used when `ssl` is set to `false`: %s", ignored)
        self._stop = threading.Event()
        self._clients: list[Any] = []

    def processing_list(self, number: int) -> str:
        ctx = self.context
        prefix = self.options.processing_key or (
            f"{self.options.key}:processing:{socket.gethostname()}:{ctx.pipeline_id}:{ctx.plugin_id or 'redis'}")
        return f"{prefix}:{number}"

    async def run(self, ctx: InputContext) -> None:
        self._stop.clear()
        target = self._read_list if self.options.data_type == "list" else self._subscribe
        await asyncio.gather(*(ctx.run_blocking(self._forever, target, ctx, n) for n in range(self.options.threads)))

    def stop(self) -> None:
        self._stop.set()

    def _stopping(self, ctx: InputContext) -> bool:
        return ctx.is_stopping or self._stop.is_set()

    def _forever(self, target: Any, ctx: InputContext, number: int) -> None:
        """Reconnect after connection errors, as Logstash does, until the pipeline stops."""
        import redis

        while not self._stopping(ctx):
            try:
                target(ctx, number)
                return
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                self.logger.warning("redis input: %s (%s:%s); reconnecting in %.0fs", exc, self.options.host,
                                    self.options.port, RECONNECT_DELAY)
                self._stop.wait(RECONNECT_DELAY)

    def _decode(self, items: list[bytes], codec: Any) -> list[Event]:
        events: list[Event] = []
        for item in items:
            events.extend(codec.decode(item))
            events.extend(codec.flush())
        return events

    def _batch_count(self, ctx: InputContext) -> int:
        """Items per round trip: batch_count, within the queue's push limit (one round trip is one push)."""
        return min(self.options.batch_count, ctx.queue.push_limit())

    # -- lists --------------------------------------------------------------
    def _read_list(self, ctx: InputContext, number: int) -> None:
        opts = self.options
        client = connect(opts, opts.host)
        codec = resolve_codec(self).clone()
        if not opts.reliable:
            self._pop_list(ctx, client, codec)
            return
        processing = self.processing_list(number)
        move = client.register_script(MOVE_BATCH.format(lmove=renamed(opts, "LMOVE")))
        progress = OffsetProgress()
        moved = trimmed = 0
        # Items left by a crash (or a lost connection) were never acknowledged: read them again first.
        leftovers = client.lrange(processing, 0, -1)
        if leftovers:
            self.logger.warning("redis input: %d items of %s were read but not acknowledged; reading them again",
                                len(leftovers), processing)
        try:
            items: list[bytes] = list(leftovers)
            while not self._stopping(ctx):
                trimmed = self._trim(client, processing, progress, trimmed)
                if not items:
                    items = move(keys=[opts.key, processing], args=[self._batch_count(ctx)]) or []
                if not items:
                    item = client.blmove(opts.key, processing, WAIT_TIMEOUT, "LEFT", "RIGHT")
                    items = [item] if item is not None else []
                if not items:
                    continue
                moved += len(items)
                read = progress.add({("list", 0): moved})
                events = self._decode(items, codec)
                items = []
                if not ctx.push_tracked_blocking(events, _done(progress, read), self._stop):
                    progress.discard(read)
                    break
        finally:
            progress.wait_all_done(SHUTDOWN_ACK_WAIT)
            try:
                self._trim(client, processing, progress, trimmed)
            finally:
                client.close()

    @staticmethod
    def _trim(client: Any, processing: str, progress: OffsetProgress, trimmed: int) -> int:
        """Drop from the processing list the items whose events are safe; returns the new total trimmed."""
        done = progress.committable().get(("list", 0))
        if done is None or done <= trimmed:
            return trimmed
        client.ltrim(processing, done - trimmed, -1)
        return done

    def _pop_list(self, ctx: InputContext, client: Any, codec: Any) -> None:
        opts = self.options
        try:
            while not self._stopping(ctx):
                items = client.lpop(opts.key, self._batch_count(ctx)) or []
                if not items:
                    popped = client.blpop([opts.key], WAIT_TIMEOUT)
                    items = [popped[1]] if popped else []
                if items and not push_until_accepted(ctx, self._decode(items, codec), self.logger, self._stop):
                    self.logger.error("redis input: stopping with %d popped items not delivered (reliable => false)",
                                      len(items))
                    return
        finally:
            client.close()

    # -- pub/sub ------------------------------------------------------------
    def _decode_messages(self, messages: list[dict[str, Any]], codec: Any) -> list[Event]:
        """Events of pub/sub messages, each with [@metadata][redis_channel] naming its channel, as Logstash."""
        events: list[Event] = []
        for message in messages:
            decoded = self._decode([message["data"]], codec)
            channel = message["channel"]
            channel = channel.decode("utf-8", "replace") if isinstance(channel, bytes) else channel
            for event in decoded:
                event.metadata["redis_channel"] = channel
            events.extend(decoded)
        return events

    def _subscribe(self, ctx: InputContext, number: int) -> None:
        opts = self.options
        client = connect(opts, opts.host)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        if opts.data_type == "channel":
            pubsub.subscribe(opts.key)
        else:
            pubsub.psubscribe(opts.key)
        codec = resolve_codec(self).clone()
        try:
            while not self._stopping(ctx):
                message = pubsub.get_message(timeout=WAIT_TIMEOUT)
                if message is None:
                    continue
                batch = [message]
                # Take what else is already waiting, to push fewer, larger batches.
                started = time.monotonic()
                while len(batch) < self._batch_count(ctx) and time.monotonic() - started < 0.05:
                    more = pubsub.get_message(timeout=0.0)
                    if more is None:
                        break
                    batch.append(more)
                push_until_accepted(ctx, self._decode_messages(batch, codec), self.logger, self._stop)
        finally:
            pubsub.close()
            client.close()


def _done(progress: OffsetProgress, read: Any) -> Any:
    return lambda: progress.mark_done(read)
