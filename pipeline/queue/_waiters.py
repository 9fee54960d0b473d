"""Producers on the event loop waiting for room in a queue that worker threads drain."""

from __future__ import annotations

import asyncio


class AsyncWaiters:
    """Futures of event-loop producers, resolved from any thread when room is made.

    Callers hold the queue's lock around :meth:`add` and :meth:`wake_all`.
    """

    def __init__(self) -> None:
        self._waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def add(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        future: asyncio.Future[None] = loop.create_future()
        self._waiting.append((loop, future))
        return future

    def wake_all(self) -> None:
        waiting, self._waiting = self._waiting, []
        for loop, future in waiting:
            loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
