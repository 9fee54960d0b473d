"""Producers waiting for room in a queue that worker threads drain: threads and event-loop tasks alike.

One list and one rule for both kinds: a producer is woken once its whole push fits (or the queue closes),
not each time some room is made; an early wake-up costs a cross-thread hand-off and a futile retry, which
a beats window larger than the room made several times per batch taken. A producer that blocks also wakes a
worker waiting for a fuller batch: the push it waits for cannot come in before that worker takes what is
there, so waiting longer would only stall both. Every queue (memory, persisted) blocks its producers here.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable


class ThreadWaiter:
    """A thread's blocked push of ``need`` events, woken through its own condition on the queue's lock."""

    __slots__ = ("need", "condition")

    def __init__(self, need: int, lock: threading.Lock) -> None:
        self.need = need
        self.condition = threading.Condition(lock)

    def wake(self) -> None:
        self.condition.notify()


class TaskWaiter:
    """An event-loop task's blocked push of ``need`` events, woken by resolving ``future`` on its loop."""

    __slots__ = ("need", "loop", "future")

    def __init__(self, need: int, loop: asyncio.AbstractEventLoop) -> None:
        self.need = need
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()

    def wake(self) -> None:
        self.loop.call_soon_threadsafe(_resolve, self.future)


class Waiters:
    """The producers waiting for room in one queue. Callers hold the queue's ``lock`` around every
    method but :meth:`sleep`; :meth:`wait` releases it while the thread waits, as a condition does.
    ``not_empty``: the queue's condition (on ``lock``) that its workers wait on for events."""

    def __init__(self, lock: threading.Lock, not_empty: threading.Condition) -> None:
        self._lock = lock
        self._not_empty = not_empty
        self._waiting: list[ThreadWaiter | TaskWaiter] = []

    def __bool__(self) -> bool:
        """Some producer is waiting for room."""
        return bool(self._waiting)

    def wait(self, need: int, timeout: float) -> None:
        """From a thread: wait at most ``timeout`` seconds to be woken with room for ``need`` events."""
        waiter = ThreadWaiter(need, self._lock)
        self._waiting.append(waiter)
        self._not_empty.notify()  # a worker waiting for a fuller batch takes what is there now
        try:
            waiter.condition.wait(timeout)
        finally:
            self.discard(waiter)

    def add(self, loop: asyncio.AbstractEventLoop, need: int) -> TaskWaiter:
        """For a task on ``loop``: a waiter whose ``future`` resolves once room for ``need`` events is made;
        :meth:`sleep` on it outside the lock."""
        waiter = TaskWaiter(need, loop)
        self._waiting.append(waiter)
        self._not_empty.notify()  # a worker waiting for a fuller batch takes what is there now
        return waiter

    async def sleep(self, waiter: TaskWaiter, timeout: float = 0.5) -> None:
        """Without the lock: wait until ``waiter`` is woken or ``timeout`` seconds pass (the caller then
        tries its push again), and stop waiting (woken, timed out or cancelled)."""
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.future, timeout)
        finally:
            with self._lock:
                self.discard(waiter)

    def discard(self, waiter: ThreadWaiter | TaskWaiter) -> None:
        with contextlib.suppress(ValueError):
            self._waiting.remove(waiter)

    def wake(self, fits: Callable[[int], bool]) -> None:
        """Wake the producers whose push fits (``fits(need)``); the others keep waiting."""
        if not self._waiting:
            return
        keep = []
        for waiter in self._waiting:
            if fits(waiter.need):
                waiter.wake()
            else:
                keep.append(waiter)
        self._waiting = keep

    def wake_all(self) -> None:
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            waiter.wake()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
