"""A TCP listener that survives running out of file descriptors, and bounds its connections.

asyncio's own accept loop (Python 3.11) does not stop after ``EMFILE``: one
readable event logs a traceback and schedules a retry for every slot of the
backlog, thousands per second, and waiting clients are never told anything.
Here one task per listening socket accepts; at the descriptor limit it stops
accepting, logs one warning naming the limit and how to raise it (then at most
one a minute), sets :attr:`Listener.at_fd_limit` (for health and stats), and
tries again every second until descriptors are free.

Optionally (the tcp, http, syslog and gelf inputs) it also:

* stops accepting at ``max_connections`` open connections (clients wait in the
  kernel's backlog), with the same one-warning-a-minute rule;
* closes a connection that sent nothing for ``idle_timeout`` seconds;
* runs the TLS handshake of each connection in its own task, bounded by
  ``ssl_handshake_timeout``, so a slow handshake never holds up accepting.

For the last two the connection's protocol is wrapped in :class:`_Tracked`,
which sees every read and the end of the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import resource
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

RESOURCE_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
RETRY_SECONDS = 1.0
ROOM_POLL_SECONDS = 0.1  # at max_connections: how often to look for a closed connection
WARN_EVERY_SECONDS = 60.0
# The tcp input's defaults; inputs whose Logstash twin has no such options (syslog, gelf) use them fixed.
DEFAULT_MAX_CONNECTIONS = 4096
DEFAULT_IDLE_TIMEOUT_SECONDS = 3600.0


def fd_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Listener:
    """Accepts connections on ``host:port`` for ``protocol_factory`` (an ``asyncio.Protocol``)."""

    def __init__(self, protocol_factory: Callable[[], asyncio.Protocol], what: str,
                 logger: logging.Logger, *, max_connections: int = 0, idle_timeout: float | None = None,
                 ssl_context: ssl.SSLContext | None = None, ssl_handshake_timeout: float | None = None,
                 on_handshake_failure: Callable[[Any, BaseException], None] | None = None) -> None:
        self.protocol_factory = protocol_factory
        self.what = what  # "beats input", for messages
        self.logger = logger
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.ssl_context = ssl_context
        self.ssl_handshake_timeout = ssl_handshake_timeout
        self.on_handshake_failure = on_handshake_failure
        self.sockets: list[socket.socket] = []
        self.at_fd_limit = False  # true while connections wait because no descriptor is free
        self.fd_limit_hits = 0  # times accepting stopped at the limit
        self.at_connection_limit = False  # true while connections wait because max_connections are open
        self.connection_limit_hits = 0
        self.idle_closed = 0  # connections closed by idle_timeout
        self._tracking = bool(max_connections or idle_timeout or ssl_context)
        self._open: set[_Tracked] = set()
        self._handshaking = 0  # accepted sockets whose TLS handshake runs (they hold a descriptor too)
        self._tasks: list[asyncio.Task[None]] = []
        self._setups: set[asyncio.Task[None]] = set()
        self._last_warning = float("-inf")
        self._last_limit_warning = float("-inf")
        self._closed = False

    async def start(self, host: str, port: int, backlog: int = 1024) -> None:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        seen = set()
        try:
            for family, kind, proto, _, address in infos:
                if (family, address) in seen:
                    continue
                seen.add((family, address))
                sock = socket.socket(family, kind, proto)
                self.sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
                sock.listen(backlog)
                sock.setblocking(False)
        except OSError:
            self.close()
            raise
        self._tasks = [loop.create_task(self._accept(sock)) for sock in self.sockets]
        if self.idle_timeout:
            self._tasks.append(loop.create_task(self._close_idle()))

    @property
    def port(self) -> int:
        return int(self.sockets[0].getsockname()[1])

    @property
    def connections(self) -> int:
        """Connections open now (counted only with max_connections, idle_timeout or TLS)."""
        return len(self._open) + self._handshaking

    async def _accept(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed:
            if self.max_connections:
                await self._wait_for_room()
            try:
                conn, peer = await loop.sock_accept(sock)
            except OSError as exc:
                if self._closed:
                    return
                if exc.errno in RESOURCE_ERRORS:
                    self._reached_limit(exc)
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                self.logger.warning("%s: accepting a connection failed: %s", self.what, exc)
                await asyncio.sleep(0.1)
                continue
            if self.at_fd_limit:
                self.at_fd_limit = False
                self.logger.warning("%s: file descriptors are free again: accepting connections", self.what)
            conn.setblocking(False)
            if self.ssl_context is not None:
                self._handshaking += 1
                task = loop.create_task(self._set_up(conn, peer))
                self._setups.add(task)
                task.add_done_callback(self._setups.discard)
            else:
                await self._set_up(conn, peer)

    async def _set_up(self, conn: socket.socket, peer: Any) -> None:
        loop = asyncio.get_running_loop()
        factory: Callable[[], asyncio.Protocol] = self.protocol_factory
        if self._tracking:
            factory = lambda: _Tracked(self.protocol_factory(), self)  # noqa: E731
        try:
            if self.ssl_context is None:
                await loop.connect_accepted_socket(factory, conn)
            else:
                await loop.connect_accepted_socket(factory, conn, ssl=self.ssl_context,
                                                   ssl_handshake_timeout=self.ssl_handshake_timeout)
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as exc:
            conn.close()
            if self.ssl_context is not None and self.on_handshake_failure is not None:
                self.on_handshake_failure(peer, exc)
            else:
                self.logger.info("%s: a new connection failed at once: %s", self.what, exc)
        finally:
            if self.ssl_context is not None:
                self._handshaking -= 1

    async def _wait_for_room(self) -> None:
        """At max_connections: stop accepting (clients wait in the backlog) until one closes."""
        while not self._closed and self.connections >= self.max_connections:
            if not self.at_connection_limit:
                self.at_connection_limit = True
                self.connection_limit_hits += 1
                now = time.monotonic()
                if now - self._last_limit_warning >= WARN_EVERY_SECONDS:
                    self._last_limit_warning = now
                    self.logger.warning(
                        "%s: %d connections are open (max_connections): not accepting new ones until one "
                        "closes; waiting clients stay queued. Raise max_connections if this many clients "
                        "are expected", self.what, self.max_connections)
            await asyncio.sleep(ROOM_POLL_SECONDS)
        if self.at_connection_limit:
            self.at_connection_limit = False
            self.logger.info("%s: below max_connections again: accepting connections", self.what)

    async def _close_idle(self) -> None:
        assert self.idle_timeout
        timeout = self.idle_timeout
        while not self._closed:
            await asyncio.sleep(min(1.0, timeout / 4))
            now = time.monotonic()
            for tracked in list(self._open):
                transport = tracked.transport
                if transport is not None and hasattr(transport, "is_reading") and not transport.is_reading():
                    tracked.last_read = now  # we paused it (backpressure): the client is not idle
                    continue
                if now - tracked.last_read <= timeout:
                    continue
                self.idle_closed += 1
                self.logger.info("%s: closing the connection from %s: nothing received for %.0fs "
                                 "(client_inactivity_timeout)", self.what, tracked.peer, timeout)
                tracked.close()

    def _reached_limit(self, exc: OSError) -> None:
        if not self.at_fd_limit:
            self.at_fd_limit = True
            self.fd_limit_hits += 1
        now = time.monotonic()
        if now - self._last_warning < WARN_EVERY_SECONDS:
            return
        self._last_warning = now
        self.logger.warning(
            "%s: cannot accept connections: %s (the process may open %d file descriptors); not accepting "
            "until some are free, waiting clients stay queued. Raise the limit: LimitNOFILE= in the systemd "
            "unit, or `ulimit -n` before starting the pipeline", self.what, exc.strerror or exc, fd_limit())

    def close(self) -> None:
        self._closed = True
        for task in [*self._tasks, *self._setups]:
            task.cancel()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()

    async def wait_closed(self) -> None:
        tasks = [*self._tasks, *self._setups]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = {"at_fd_limit": self.at_fd_limit, "fd_limit_hits": self.fd_limit_hits}
        if self._tracking:
            stats.update(connections=self.connections, at_connection_limit=self.at_connection_limit,
                         connection_limit_hits=self.connection_limit_hits, idle_closed=self.idle_closed)
        return stats


class ConnectionTasks:
    """The tasks serving a listener's connections: created through :meth:`track`, all cancelled by :meth:`stop`
    (the tcp, syslog and gelf inputs share this stop sequence)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def track(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def stop(self, listener: Listener | None) -> None:
        """Stop accepting, cancel every connection's task and wait (at most 2 s) for the sockets to close."""
        if listener is not None:
            listener.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if listener is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(listener.wait_closed(), 2)


class ListenerStats:
    """An input's section of ``/_node/stats``: its problem counters and its listener's state.

    ``owner`` has ``counters`` (a Counter) and, once listening, ``listener`` (a :class:`Listener`)."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner

    def snapshot(self) -> dict[str, Any]:
        listener = getattr(self.owner, "listener", None)
        return {**dict(self.owner.counters), "accepting": listener.stats() if listener is not None else {}}


class _Tracked(asyncio.Protocol):
    """Forwards everything to the real protocol; notes when the peer last sent bytes and when it ends."""

    def __init__(self, inner: asyncio.Protocol, listener: Listener) -> None:
        self.inner = inner
        self.listener = listener
        self.transport: asyncio.BaseTransport | None = None
        self.last_read = time.monotonic()
        self.peer: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.peer = transport.get_extra_info("peername")
        self.last_read = time.monotonic()
        self.listener._open.add(self)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self.last_read = time.monotonic()
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.listener._open.discard(self)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def close(self) -> None:
        self.listener._open.discard(self)  # its descriptor is being given back
        if self.transport is not None:
            self.transport.close()
