"""A TCP listener that survives running out of file descriptors.

asyncio's own accept loop (Python 3.11) does not stop after ``EMFILE``: one
readable event logs a traceback and schedules a retry for every slot of the
backlog, thousands per second, and waiting clients are never told anything.
Here one task per listening socket accepts; at the descriptor limit it stops
accepting, logs one warning naming the limit and how to raise it (then at most
one a minute), sets :attr:`Listener.at_fd_limit` (for health and stats), and
tries again every second until descriptors are free.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import resource
import socket
import time
from collections.abc import Callable
from typing import Any

RESOURCE_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
RETRY_SECONDS = 1.0
WARN_EVERY_SECONDS = 60.0


def fd_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Listener:
    """Accepts connections on ``host:port`` for ``protocol_factory`` (an ``asyncio.Protocol``)."""

    def __init__(self, protocol_factory: Callable[[], asyncio.Protocol], what: str,
                 logger: logging.Logger) -> None:
        self.protocol_factory = protocol_factory
        self.what = what  # "beats input", for messages
        self.logger = logger
        self.sockets: list[socket.socket] = []
        self.at_fd_limit = False  # true while connections wait because no descriptor is free
        self.fd_limit_hits = 0  # times accepting stopped at the limit
        self._tasks: list[asyncio.Task[None]] = []
        self._last_warning = float("-inf")
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

    @property
    def port(self) -> int:
        return int(self.sockets[0].getsockname()[1])

    async def _accept(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed:
            try:
                conn, _ = await loop.sock_accept(sock)
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
            try:
                conn.setblocking(False)
                await loop.connect_accepted_socket(self.protocol_factory, conn)
            except OSError as exc:
                conn.close()
                self.logger.info("%s: a new connection failed at once: %s", self.what, exc)

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
        for task in self._tasks:
            task.cancel()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()

    async def wait_closed(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def stats(self) -> dict[str, Any]:
        return {"at_fd_limit": self.at_fd_limit, "fd_limit_hits": self.fd_limit_hits}
