"""One beats client connection: frames in, windows to the queue, acks out.

Windows are handed to the queue strictly in arrival order by one task per
connection (the "pump"); a window is acked with its last sequence number only
once the queue has accepted every event of it, and while the queue is full the
client gets ``ACK 0`` keepalives so its timeout never fires. Reading pauses
while windows wait, so a flood is held back in the client's socket, not in
our memory. Any protocol error closes just this connection, with one log line.

Memory is bounded by byte budgets (wire bytes of frames and events held):

* a window whose events pass ``max_window_bytes`` is handed to the queue in
  parts, each acknowledged with its last sequence number (a partial ack, which
  Beats clients handle), so a huge window never sits whole in memory;
* beyond ``GUARANTEED_BYTES`` per connection, every connection of the input
  shares ``max_pending_bytes``; a connection that would pass it stops being
  read until others free memory. Every connection may hold its guaranteed
  share, so small clients keep being served while big ones wait, and a client
  sending half a frame and nothing more is closed by the inactivity timeout,
  which counts time without a complete frame (slowloris).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import ssl
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from pipeline.errors import QueueClosedError
from pipeline.event import Event
from pipeline.inputs.beats.events import EventBuilder, RawJsonSource
from pipeline.lumberjack.frames import (
    DATA,
    JSON_RUN,
    MAX_WINDOW_SIZE,
    VERSION_2,
    WINDOW,
    FrameParser,
    ProtocolError,
    encode_ack,
)
from pipeline.runtime.rawevents import RawEvent

if TYPE_CHECKING:
    from pipeline.inputs.base import InputContext

log = logging.getLogger("pipeline.input.beats")

#: Complete windows a connection may hold before it stops reading (go-lumber pipelines 2).
MAX_PENDING_WINDOWS = 2
#: Bytes every connection may hold whatever the others hold (a typical Filebeat window fits).
GUARANTEED_BYTES = 1024 * 1024


@dataclass
class BeatsStats:
    """Counters of one beats input (read by tests, logs and the stats API)."""

    connections_accepted: int = 0
    connections_current: int = 0
    connections_peak: int = 0
    events: int = 0
    windows: int = 0
    acks: int = 0
    keepalives: int = 0
    idle_closed: int = 0
    held_bytes: int = 0  # frames and events held in memory by every connection (the budgeted bytes)
    held_bytes_peak: int = 0
    budget_pauses: int = 0  # times a connection stopped being read because the input's budget was used
    partial_acks: int = 0  # window parts acknowledged because a window passed max_window_bytes
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    listener: Any = None  # the input's Listener: at_fd_limit (health turns yellow), fd_limit_hits

    def snapshot(self) -> dict[str, Any]:
        accepting = self.listener.stats() if self.listener is not None else {}
        return {
            "accepting": accepting,
            "connections": {"accepted": self.connections_accepted, "current": self.connections_current,
                            "peak": self.connections_peak, "idle_closed": self.idle_closed},
            "events": self.events, "windows": self.windows, "acks": self.acks,
            "keepalives": self.keepalives, "errors": dict(self.errors),
            "memory": {"held_bytes": self.held_bytes, "held_bytes_peak": self.held_bytes_peak,
                       "budget_pauses": self.budget_pauses, "partial_acks": self.partial_acks},
        }


@dataclass
class ConnectionSettings:
    """What every connection of one input shares."""

    ctx: InputContext
    stats: BeatsStats
    make_builder: Callable[[str | None, Any], EventBuilder]
    max_frame_size: int
    keepalive_interval: float
    ssl_context: ssl.SSLContext | None = None
    ssl_handshake_timeout: float = 10.0
    on_failure: Callable[[], None] | None = None
    connections: set[BeatsConnection] = field(default_factory=set)
    max_window_bytes: int = 8 * 1024 * 1024
    max_pending_bytes: int = 128 * 1024 * 1024
    #: set when worker processes decode (pipeline/runtime/rawevents.py): JSON payloads go to them as bytes
    make_raw_source: Callable[[str | None, Any], RawJsonSource | None] | None = None

    def over_budget(self) -> bool:
        return self.stats.held_bytes > self.max_pending_bytes

    def resume_waiting(self) -> None:
        """Memory was freed: connections paused for the budget may read again."""
        if not self.over_budget():
            for connection in list(self.connections):
                if connection.budget_paused:
                    connection.update_reading()


class BeatsConnection(asyncio.Protocol):
    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.peer_ip: str | None = None
        self.parser = FrameParser(settings.max_frame_size, json_runs=True)
        self.builder: EventBuilder | None = None
        self.raw_source: RawJsonSource | None = None  # JSON payloads left undecoded, for worker processes
        self.last_active = self.loop.time()
        self.closed = False
        self._early: list[bytes] = []  # data that arrived before the TLS handshake finished
        self._window_size: int | None = None
        self._window_version = VERSION_2
        self._window_count = 0
        self._window_last_seq = 0
        self._window_events: list[Event] = []
        self._window_bytes = 0
        self._pending: collections.deque[tuple[list[Event], int, int, int]] = collections.deque()
        self._pending_bytes = 0
        self._held = 0  # this connection's part of stats.held_bytes
        self.budget_paused = False
        self._pump: asyncio.Task[None] | None = None
        self._push: asyncio.Task[None] | None = None  # the window being handed to the queue now
        self._paused = False
        self._write_paused = False
        self._close_when_drained = False
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle -----------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        stats = self.settings.stats
        stats.connections_accepted += 1
        stats.connections_current += 1
        stats.connections_peak = max(stats.connections_peak, stats.connections_current)
        self.settings.connections.add(self)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.peer_ip = str(peer[0])
            self.peer = f"{peer[0]}:{peer[1]}"
        if self.settings.ssl_context is not None:
            transport.pause_reading()
            self._spawn(self._handshake(transport))
        else:
            self.builder = self.settings.make_builder(self.peer_ip, None)
            self._set_raw_source(None)

    async def _handshake(self, raw: asyncio.Transport) -> None:
        settings = self.settings
        assert settings.ssl_context is not None
        try:
            secure = await self.loop.start_tls(raw, self, settings.ssl_context, server_side=True,
                                               ssl_handshake_timeout=settings.ssl_handshake_timeout)
        except (TimeoutError, OSError, ssl.SSLError, ConnectionError) as exc:
            reason = "TLS handshake timed out" if isinstance(exc, TimeoutError) else (
                f"TLS handshake failed: {exc}")
            self._fail("tls_handshake", reason, raw)
            self._forget()
            return
        if secure is None or self.closed:
            return
        self.transport = secure  # type: ignore[assignment]
        self.builder = settings.make_builder(self.peer_ip, secure.get_extra_info("ssl_object"))
        self._set_raw_source(secure.get_extra_info("ssl_object"))
        early, self._early = self._early, []
        for chunk in early:
            self.data_received(chunk)

    def _set_raw_source(self, ssl_object: Any) -> None:
        make = self.settings.make_raw_source
        self.raw_source = make(self.peer_ip, ssl_object) if make is not None else None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        # The loop keeps only weak references to tasks: hold one until it is done.
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _forget(self) -> None:
        if self in self.settings.connections:
            self.settings.connections.discard(self)
            self.settings.stats.connections_current -= 1
        if self._held:
            self.settings.stats.held_bytes -= self._held
            self._held = 0
            self.settings.resume_waiting()

    def _account(self) -> None:
        """Update this connection's share of the input's held bytes (after every change)."""
        if self.closed:
            return
        held = self.parser.buffered + self._window_bytes + self._pending_bytes
        delta = held - self._held
        if not delta:
            return
        self._held = held
        stats = self.settings.stats
        stats.held_bytes += delta
        if stats.held_bytes > stats.held_bytes_peak:
            stats.held_bytes_peak = stats.held_bytes
        if delta < 0:
            self.settings.resume_waiting()

    def connection_lost(self, exc: Exception | None) -> None:
        self._forget()
        if self.closed:
            return
        self.closed = True
        if self.parser.buffered:
            self._count("truncated", f"client closed the connection in the middle of a frame "
                                     f"({self.parser.buffered} bytes pending)")
        elif self._window_count:
            log.info("beats connection %s closed in the middle of a window (%d of %s events); "
                     "the client will resend it", self.peer, self._window_count, self._window_size)
        self._flush_codec()

    def eof_received(self) -> bool:
        """The client finished sending: answer the windows it already sent, then close."""
        if self.busy and self.settings.ssl_context is None:
            self._close_when_drained = True
            return True  # keep the socket open for the acks
        return False

    def _flush_codec(self) -> None:
        if self.builder is None:
            return
        try:
            leftovers = self.builder.flush()
        except Exception as exc:  # noqa: BLE001 - a codec bug must not take the server down
            log.warning("beats connection %s: codec flush failed: %s", self.peer, exc)
            return
        if leftovers and not self.settings.ctx.is_stopping:
            self._spawn(self._push_quietly(leftovers))

    async def _push_quietly(self, events: list[Event]) -> None:
        try:
            await self.settings.ctx.push(events)
        except QueueClosedError:
            log.warning("beats connection %s: %d flushed events lost, pipeline stopping", self.peer,
                        len(events))

    # -- reading -------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        if self.builder is None:  # TLS handshake still completing
            self._early.append(data)
            return
        try:
            frames = self.parser.feed(data)
            if frames:
                # Only complete frames count as activity: a byte a second must not keep a connection.
                self.last_active = self.loop.time()
                self._handle(frames)
        except ProtocolError as exc:
            self._fail(exc.reason, str(exc))
            return
        self._account()
        self.update_reading()

    def _handle(self, frames: list[tuple[int, int, int, Any]]) -> None:
        # The parser returns runs of JSON frames (json_runs=True): a Filebeat window is two items.
        for kind, version, seq, payload in frames:
            if kind == JSON_RUN:
                seqs, payloads = payload
                if self.raw_source is not None:  # a worker process decodes them (and tags what is not JSON)
                    self._add_raw_run(seqs, payloads, self.raw_source)
                else:
                    self._add_json_run(seqs, payloads)
            elif kind == WINDOW:
                self._start_window(version, seq)
            elif kind == DATA:
                if self._window_size is None:
                    raise ProtocolError("no_window", "data frame received before any window frame")
                self._window_bytes += sum(len(k) + len(v) for k, v in payload.items())
                self._add_event(seq, payload, self.builder.build)  # type: ignore[union-attr]

    def _add_json_run(self, seqs: list[int], payloads: list[bytes]) -> None:
        """Consecutive JSON payloads decoded here (worker threads), one event at a time."""
        # The hot loop of the threads path: locals instead of attribute lookups.
        build = self.builder.build  # type: ignore[union-attr]
        loads = orjson.loads
        for seq, payload in zip(seqs, payloads, strict=True):
            if self._window_size is None:
                raise ProtocolError("no_window", "data frame received before any window frame")
            try:
                value = loads(payload)
            except orjson.JSONDecodeError as exc:
                raise ProtocolError("bad_json", f"invalid JSON in data frame: {exc}") from None
            if type(value) is not dict:
                raise ProtocolError("bad_json", f"data frame holds JSON {type(value).__name__}, not an object")
            self._window_bytes += len(payload)
            self._add_event(seq, value, build)

    def _add_raw_run(self, seqs: list[int], payloads: list[bytes], raw_source: RawJsonSource) -> None:
        """Consecutive JSON payloads for the worker processes, a window's worth at a time: the same
        windows, parts and acks as one event at a time, without its per-event steps."""
        start, count = 0, len(payloads)
        limit = self.settings.max_window_bytes
        while start < count:
            if self._window_size is None:
                raise ProtocolError("no_window", "data frame received before any window frame")
            stop = min(count, start + max(1, self._window_size - self._window_count))
            chunk = payloads[start:stop]
            size = sum(map(len, chunk))
            if self._window_bytes + size > limit:
                # A part may have to be handed over inside this chunk: one event at a time.
                for at in range(start, stop):
                    self._window_bytes += len(payloads[at])
                    self._window_events.append(RawEvent(payloads[at], raw_source))
                    self._count_event(seqs[at])
            else:
                self._window_bytes += size
                self._window_events += [RawEvent(one, raw_source) for one in chunk]
                self._window_count += stop - start
                self._window_last_seq = seqs[stop - 1]
                if self._window_count >= self._window_size:
                    self._complete_window()
            start = stop

    def _start_window(self, version: int, size: int) -> None:
        if size > MAX_WINDOW_SIZE:
            raise ProtocolError("window_too_large",
                                f"window of {size} events exceeds the maximum of {MAX_WINDOW_SIZE}")
        if self._window_count:
            # A client that starts a new window early: keep what it sent, in order.
            log.debug("beats connection %s: new window before the previous one was complete", self.peer)
            self._complete_window()
        self._window_size = size
        self._window_version = version

    def _add_event(self, seq: int, payload: dict[str, Any],
                   build: Callable[[dict[str, Any], list[Event]], None]) -> None:
        try:
            build(payload, self._window_events)
        except Exception as exc:
            raise ProtocolError("codec", f"codec failed on a payload: {exc}") from exc
        self._count_event(seq)

    def _count_event(self, seq: int) -> None:
        self._window_count += 1
        self._window_last_seq = seq
        if self._window_count >= self._window_size:  # type: ignore[operator]
            self._complete_window()
        elif self._window_bytes > self.settings.max_window_bytes:
            self._hand_over_part()

    def _complete_window(self) -> None:
        self._hand_over_part()
        self.settings.stats.windows += 1
        self._window_count = 0
        self._window_size = None

    def _hand_over_part(self) -> None:
        """Queue what the window holds so far, to be acknowledged up to its last sequence number."""
        if self._window_count and self._window_size and self._window_count < self._window_size:
            self.settings.stats.partial_acks += 1
        self._pending.append((self._window_events, self._window_last_seq, self._window_version,
                              self._window_bytes))
        self._pending_bytes += self._window_bytes
        self.settings.stats.events += len(self._window_events)
        self._window_events = []
        self._window_bytes = 0
        if self._pump is None:
            self._pump = self.loop.create_task(self._drain())
        self.update_reading()

    # -- acking --------------------------------------------------------------
    async def _drain(self) -> None:
        settings = self.settings
        try:
            while self._pending and not self.closed:
                events, last_seq, version, size = self._pending[0]
                if events:
                    push = self._push = self.loop.create_task(self._push_window(events))
                    try:
                        while True:
                            done, _ = await asyncio.wait((push,), timeout=settings.keepalive_interval)
                            if done:
                                break
                            if version == VERSION_2 and not self.closed:
                                self._write(encode_ack(0, version))
                                settings.stats.keepalives += 1
                    except asyncio.CancelledError:
                        push.cancel()
                        raise
                    push.result()
                self._pending.popleft()
                self._pending_bytes -= size
                self._account()
                if not self.closed:
                    self._write(encode_ack(last_seq, version))
                    settings.stats.acks += 1
                self.update_reading()
        except QueueClosedError:
            self._close("pipeline stopping")
        finally:
            self._pump = None
            if self._close_when_drained and not self._pending:
                self._close("client finished sending")

    # -- flow control ------------------------------------------------------------
    def update_reading(self) -> None:
        """Read only while fewer than two windows wait, the client reads its acks, and the memory
        budget allows (a connection holding less than its guaranteed share is always read)."""
        if self.transport is None or self.closed:
            return
        budget = self._held > GUARANTEED_BYTES and self.settings.over_budget()
        if budget and not self.budget_paused:
            self.settings.stats.budget_pauses += 1
        self.budget_paused = budget
        pause = len(self._pending) >= MAX_PENDING_WINDOWS or self._write_paused or budget
        if pause and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        elif not pause and self._paused:
            self._paused = False
            self.transport.resume_reading()

    def pause_writing(self) -> None:
        self._write_paused = True  # the client is not reading its acks: stop reading its data
        self.update_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self.update_reading()

    async def _push_window(self, events: list[Event]) -> None:
        """Hand a window to the queue in pushes it can take beside other events (the queue's push limit),
        so a window larger than the queue flows through instead of waiting for it to empty."""
        await self.settings.ctx.push_within_limit(events)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    # -- closing -------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Windows still being handed to the queue (the client waits for acks, silently)."""
        return bool(self._pending) or self._pump is not None

    def _count(self, reason: str, message: str) -> None:
        self.settings.stats.errors[reason] += 1
        if self.settings.on_failure is not None:
            self.settings.on_failure()
        log.warning("beats connection %s closed: %s", self.peer, message)

    def _fail(self, reason: str, message: str, transport: asyncio.Transport | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        self._pending.clear()  # not acked: the client resends these windows
        self._forget()
        self._count(reason, message)
        target = transport or self.transport
        if target is not None:
            target.abort()

    def _close(self, why: str) -> None:
        if self.closed:
            return
        self.closed = True
        log.debug("beats connection %s closed: %s", self.peer, why)
        if self.transport is not None:
            self.transport.close()

    def close_idle(self, timeout: float) -> None:
        self.settings.stats.idle_closed += 1
        log.info("beats connection %s closed: no data for %.0f s (client_inactivity_timeout)",
                 self.peer, timeout)
        self._close("idle")

    def shutdown(self) -> None:
        """The input stops: drop this connection; unacked windows will be resent."""
        push = self._push
        if self._pump is not None and push is not None and self._pending:
            if not push.done():
                push.cancel()  # now, before its next step can hand the window to the queue unacked
            elif not push.cancelled() and push.exception() is None:
                # The queue took this window but the pump has not run since: ack it now, or the
                # client would send it again after a reload (a duplicate).
                _events, last_seq, version, _size = self._pending[0]
                self._write(encode_ack(last_seq, version))
                self.settings.stats.acks += 1
        if self._pump is not None:
            self._pump.cancel()
        self._close("input stopping")
