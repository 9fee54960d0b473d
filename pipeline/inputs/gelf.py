"""gelf input: GELF messages (Graylog Extended Log Format) over UDP (chunked, zlib/gzip) and TCP (null-framed)."""

from __future__ import annotations

import asyncio
import collections
import gzip
import io
import time
import zlib
from dataclasses import dataclass
from typing import Any

from pipeline.event import Event
from pipeline.inputs._accept import (
    DEFAULT_IDLE_TIMEOUT_SECONDS,
    DEFAULT_MAX_CONNECTIONS,
    ConnectionTasks,
    Listener,
    ListenerStats,
)
from pipeline.inputs._udp import DatagramReceiver
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import option, register
from pipeline.serde import JSONDecodeError, loads
from pipeline.timestamp import Timestamp

CHUNK_MAGIC = b"\x1e\x0f"
MAX_CHUNKS = 128
CHUNK_TIMEOUT = 5.0  # seconds an incomplete chunked message is kept (GELF spec)
MAX_MESSAGE = 8 * 1024 * 1024  # decompressed size limit: a zip bomb must not exhaust memory
PARSE_FAILURE_TAGS = ["_jsonparsefailure", "_fromjsonparser"]
# Logstash's gelf input has no options for these: the tcp input's defaults, fixed.
MAX_CONNECTIONS = DEFAULT_MAX_CONNECTIONS
IDLE_TIMEOUT_SECONDS = DEFAULT_IDLE_TIMEOUT_SECONDS


class GelfError(ValueError):
    """A datagram or frame that is not GELF."""


def decompress(data: bytes) -> bytes:
    """zlib (0x78 ..), gzip (0x1f 0x8b) or plain JSON; at most MAX_MESSAGE bytes."""
    if data[:2] == b"\x1f\x8b":
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            out = handle.read(MAX_MESSAGE + 1)
    elif data[:1] == b"\x78":
        inflater = zlib.decompressobj()
        out = inflater.decompress(data, MAX_MESSAGE + 1)
    else:
        out = data
    if len(out) > MAX_MESSAGE:
        raise GelfError(f"message larger than {MAX_MESSAGE} bytes once decompressed")
    return out


class ChunkAssembler:
    """Collects GELF chunks (magic, 8-byte id, sequence number, count) until a message is complete."""

    def __init__(self) -> None:
        self._pending: dict[bytes, tuple[float, int, dict[int, bytes]]] = {}

    def add(self, datagram: bytes) -> bytes | None:
        if len(datagram) < 12:
            raise GelfError("chunk shorter than its header")
        message_id, number, count = datagram[2:10], datagram[10], datagram[11]
        if count == 0 or count > MAX_CHUNKS or number >= count:
            raise GelfError(f"chunk {number} of {count} is invalid (at most {MAX_CHUNKS} chunks)")
        self._expire()
        started, _, parts = self._pending.setdefault(message_id, (time.monotonic(), count, {}))
        parts[number] = datagram[12:]
        if len(parts) < count:
            return None
        del self._pending[message_id]
        return b"".join(parts[i] for i in range(count))

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, (started, _, _) in self._pending.items() if now - started > CHUNK_TIMEOUT]:
            del self._pending[key]


def events_from_gelf(payload: bytes, remap: bool, strip_underscore: bool, source_host: str) -> list[Event]:
    """As Logstash's gelf input: JSON object(s) → events, ``source_host`` set, ``timestamp`` → @timestamp,
    message remapping, leading underscores stripped; text that is not JSON → one event tagged _jsonparsefailure.

    ``source_host`` is set over the message's own, before the underscores are stripped (so an ``_source_host``
    wins), as Logstash's new_event does before remap_gelf and strip_leading_underscore
    (logstash-input-gelf lib/logstash/inputs/gelf.rb)."""
    text = payload.decode("utf-8", "replace")
    try:
        value = loads(payload)
    except JSONDecodeError:
        return [Event({"message": text, "tags": list(PARSE_FAILURE_TAGS), "source_host": source_host})]
    objects = value if isinstance(value, list) else [value]
    events = []
    for obj in objects:
        if not isinstance(obj, dict):
            events.append(Event({"message": text, "tags": list(PARSE_FAILURE_TAGS), "source_host": source_host}))
            continue
        stamp = obj.pop("timestamp", None)
        obj["source_host"] = source_host
        event = Event(obj)
        if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
            event.timestamp = Timestamp.from_seconds(stamp)
        if remap:
            _remap(event)
        if strip_underscore:
            data = event.data
            for key in [k for k in data if k.startswith("_")]:
                data[key[1:]] = data.pop(key)
        events.append(event)
    return events


def _remap(event: Event) -> None:
    data = event.data
    full, short = data.get("full_message"), data.get("short_message")
    if isinstance(full, str) and full:
        data["message"] = data.pop("full_message")
        if short == data["message"]:
            del data["short_message"]
    elif isinstance(short, str) and short:
        data["message"] = data.pop("short_message")


@register
class Gelf(Input):
    """Receives GELF over UDP (chunked, zlib or gzip compressed, as Docker's gelf log driver and Graylog
    libraries send it) and/or TCP (null-byte framed).

    ``short_message``/``full_message`` become ``message`` (``remap``), GELF's
    ``timestamp`` becomes ``@timestamp``, additional fields lose their leading
    underscore (``strip_leading_underscore``), the sender's address goes to
    ``source_host``. Text that is not JSON is kept in ``message`` and tagged
    ``_jsonparsefailure``; broken chunks are counted and dropped with a warning.
    Over TCP at most 4096 connections are open at once (more wait in the kernel's
    queue) and one silent for an hour is closed; at the file descriptor limit
    accepting pauses, with one warning a minute.
    """

    name = "gelf"

    @dataclass(frozen=True, kw_only=True)
    class Options(InputOptions):
        host: str = option("0.0.0.0", "Address to listen on.")
        port: int = option(12201, "Port for UDP and TCP (unless port_udp/port_tcp are set).")
        port_udp: int | None = option(None, "UDP port (default: port).")
        port_tcp: int | None = option(None, "TCP port (default: port).")
        use_udp: bool = option(True, "Listen on UDP.")
        use_tcp: bool = option(False, "Listen on TCP.")
        remap: bool = option(True, "Put full_message (or short_message) into message.")
        strip_leading_underscore: bool = option(True, "Turn _field into field.")

        def __post_init__(self) -> None:
            if not self.use_udp and not self.use_tcp:
                raise ValueError("enable use_udp or use_tcp")

    def register(self) -> None:
        self._chunks = ChunkAssembler()
        self.udp_port: int | None = None
        self.tcp_port: int | None = None
        self.dropped = 0
        self.counters: collections.Counter[str] = collections.Counter()
        self.stats = ListenerStats(self)  # /_node/stats: counters, descriptors, connections
        self._receiver: DatagramReceiver | None = None
        self.listener: Listener | None = None
        self._connections = ConnectionTasks()  # each connection's serving task, cancelled at stop

    def _events(self, payload: bytes, address: str) -> list[Event]:
        return events_from_gelf(payload, self.options.remap, self.options.strip_leading_underscore, address)

    def _drop(self, address: str, why: str) -> None:
        self.dropped += 1
        self.counters["dropped_messages"] += 1
        self.logger.warning("gelf: dropped a message from %s: %s (%d so far)", address, why, self.dropped)

    async def _datagram(self, ctx: InputContext, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            if data[:2] == CHUNK_MAGIC:
                assembled = self._chunks.add(data)
                if assembled is None:
                    return
                data = assembled
            payload = decompress(data)
        except (GelfError, zlib.error, OSError, EOFError) as exc:
            self._drop(addr[0], str(exc))
            return
        await ctx.push(self._events(payload, addr[0]))

    async def _connection(self, ctx: InputContext, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("peername")[0]
        try:
            while not ctx.is_stopping:
                try:
                    frame = await reader.readuntil(b"\x00")
                except asyncio.IncompleteReadError as end:
                    if end.partial.strip():
                        await ctx.push(self._events(end.partial, address))
                    return
                except asyncio.LimitOverrunError:
                    self._drop(address, f"frame longer than {MAX_MESSAGE} bytes; closing the connection")
                    return
                if frame[:-1].strip():
                    await ctx.push(self._events(frame[:-1], address))
        finally:
            writer.close()

    async def run(self, ctx: InputContext) -> None:
        # One try around both starts: when the second cannot listen, the first is closed too, or a retry
        # after a reload would find its port taken by ourselves.
        try:
            await self._listen(ctx)
            await ctx.wait_stopping()
        finally:
            if self._receiver is not None:
                await self._receiver.close()
            await self._connections.stop(self.listener)

    async def _listen(self, ctx: InputContext) -> None:
        opts = self.options
        if opts.use_udp:
            async def handle(data: bytes, addr: tuple[Any, ...]) -> None:
                await self._datagram(ctx, data, addr)

            self._receiver = DatagramReceiver(handle, workers=1, queue_size=2000, logger=self.logger)
            self.udp_port = await self._receiver.start(opts.host, opts.port_udp or opts.port)
            self.logger.info("gelf input listening on udp %s:%d", opts.host, self.udp_port)
        if opts.use_tcp:
            def connection() -> asyncio.Protocol:
                return asyncio.StreamReaderProtocol(asyncio.StreamReader(limit=MAX_MESSAGE),
                                                    lambda r, w: self._connections.track(self._connection(ctx, r, w)))

            # Our listener, not asyncio's: it survives EMFILE, bounds connections and closes idle ones.
            self.listener = Listener(connection, "gelf input", self.logger, max_connections=MAX_CONNECTIONS,
                                     idle_timeout=IDLE_TIMEOUT_SECONDS)
            await self.listener.start(opts.host, opts.port_tcp or opts.port)
            self.tcp_port = self.listener.port
            self.logger.info("gelf input listening on tcp %s:%d", opts.host, self.tcp_port)

