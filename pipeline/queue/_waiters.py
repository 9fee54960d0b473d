"""Producers on the event loop waiting for room in a queue that worker threads drain."""

from __future__ import annotations

import asyncio


class AsyncWaiters:
    """Futures of event-loop producers, resolved from any thread when room is made.

    Callers hold the queue's lock around :meth:`add` and :meth:`wake_all`.
    """

    def __init__(self) -> None:
        self._waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None], int]] = []

    def add(self, loop: asyncio.AbstractEventLoop, need: int = 0) -> asyncio.Future[None]:
        """A future resolved once room is made (for ``need`` events, with :meth:`wake_fitting`)."""
        future: asyncio.Future[None] = loop.create_future()
        self._waiting.append((loop, future, need))
        return future

    def __bool__(self) -> bool:
        """Some producer is waiting for room."""
        return bool(self._waiting)

    def discard(self, future: asyncio.Future[None]) -> None:
        """Forget a producer that stopped waiting (timed out, cancelled) so it no longer counts as blocked."""
        self._waiting = [entry for entry in self._waiting if entry[1] is not future]

    def wake_all(self) -> None:
        waiting, self._waiting = self._waiting, []
        for loop, future, _need in waiting:
            loop.call_soon_threadsafe(_resolve, future)

    def wake_fitting(self, room: int, empty: bool) -> None:
        """Wake the producers whose batch fits in ``room`` (all of them when the queue is empty). The
        others keep waiting: waking them would only cost a cross-thread wake-up and a futile retry,
        which a beats window larger than the room made several times per batch taken."""
        if not self._waiting:
            return
        if empty:
            self.wake_all()
            return
        keep = []
        for entry in self._waiting:
            if entry[2] <= room:
                entry[0].call_soon_threadsafe(_resolve, entry[1])
            else:
                keep.append(entry)
        self._waiting = keep


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
