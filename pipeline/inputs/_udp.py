"""Receiving datagrams without blocking the event loop: a bounded queue drained by workers.

The socket callback only enqueues; ``workers`` tasks decode and push. When the
queue is full (the pipeline is slower than the senders) new datagrams are
dropped and counted: UDP senders cannot be slowed down, and blocking here
would only make the kernel drop them silently instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[[bytes, tuple[Any, ...]], Awaitable[None]]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, receiver: DatagramReceiver) -> None:
        self.receiver = receiver

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.receiver.offer(data, addr)

    def error_received(self, exc: Exception) -> None:
        self.receiver.logger.warning("udp socket error: %s", exc)


class DatagramReceiver:
    """A UDP listener feeding ``handler`` from ``workers`` tasks through a queue of ``queue_size``."""

    def __init__(self, handler: Handler, *, workers: int, queue_size: int, logger: logging.Logger,
                 receive_buffer_bytes: int | None = None, on_drop: Callable[[], None] | None = None) -> None:
        self.handler = handler
        self.workers = workers
        self.queue: asyncio.Queue[tuple[bytes, tuple[Any, ...]]] = asyncio.Queue(maxsize=queue_size)
        self.logger = logger
        self.receive_buffer_bytes = receive_buffer_bytes
        self.on_drop = on_drop
        self.dropped = 0
        self._last_drop_log = 0.0
        self.transport: asyncio.DatagramTransport | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, host: str, port: int) -> int:
        """Bind and start the workers; returns the bound port."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.receive_buffer_bytes:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer_bytes)
        sock.bind((host, port))
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        self.transport = transport  # type: ignore[assignment]
        self._tasks = [asyncio.ensure_future(self._work()) for _ in range(self.workers)]
        return int(sock.getsockname()[1])

    def offer(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            self.queue.put_nowait((data, addr))
        except asyncio.QueueFull:
            self.dropped += 1
            if self.on_drop is not None:
                self.on_drop()
            now = time.monotonic()
            if now - self._last_drop_log > 10:
                self._last_drop_log = now
                self.logger.warning("udp queue full: dropping datagrams (%d so far); raise queue_size or "
                                    "workers, or speed up the outputs", self.dropped)

    async def _work(self) -> None:
        while True:
            data, addr = await self.queue.get()
            try:
                await self.handler(data, addr)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad datagram must not stop the worker
                self.logger.exception("cannot process a datagram from %s", addr[0])

    async def close(self) -> None:
        """Stop receiving, process what is queued, stop the workers."""
        if self.transport is not None:
            self.transport.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drain(), 5)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _drain(self) -> None:
        while not self.queue.empty():
            await asyncio.sleep(0.01)
