"""Input base: an async ``run`` that pushes events into the pipeline's queue.

``await ctx.push(events)`` returns once the queue has *accepted* the events
(backpressure: it waits while the queue is full); that is the moment an input
may acknowledge them (beats ACK, file registry). Blocking inputs run their
loop in a thread and use ``ctx.push_blocking``. Inputs that must not commit a
broker position before the outputs have the events (Kafka, Redis lists) use
``ctx.push_tracked_blocking(events, on_delivered)`` (see pipeline/queue/acks.py). The base decorates every
event with ``type``, ``tags`` and ``add_field`` as Logstash's inputs do.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pipeline.decorate import decorate_input
from pipeline.event import Event
from pipeline.plugin import BaseOptions, Codec, Plugin, option
from pipeline.queue.acks import DeliveryTracker
from pipeline.queue.push_size import push_slices
from pipeline.queue.weight import push_weight

if TYPE_CHECKING:
    from pipeline.codecs.base import Codec as CodecPlugin
    from pipeline.queue.base import Queue


@dataclass(frozen=True, kw_only=True)
class InputOptions(BaseOptions):
    type: str | None = option(None, "Set [type] on every event that has none (used in conditionals).")
    tags: list[str] = option([], "Tags added to every event.")
    add_field: dict[str, Any] = option({}, "Fields added to every event (sprintf values).")
    codec: Codec = option("plain", "Codec decoding the raw data.")


class InputContext:
    """The input's link to the pipeline: push events, learn when to stop."""

    def __init__(self, queue: Queue, decorate: Any, stopping: threading.Event,
                 loop: asyncio.AbstractEventLoop | None = None, metrics: Any = None,
                 acks: DeliveryTracker | None = None) -> None:
        self.queue = queue
        # Without a runner settling batches, accepted by the queue is as far as anyone can tell.
        self.acks = acks if acks is not None else DeliveryTracker(durable=True)
        self._decorate = decorate
        self.stopping = stopping
        self.loop = loop
        self.metrics = metrics
        #: worker processes decode: inputs that can push RawEvents (undecoded bytes) instead of events,
        #: decorated in the worker too (see pipeline/runtime/rawevents.py)
        self.defer_decoding = False

    @property
    def is_stopping(self) -> bool:
        return self.stopping.is_set()

    async def push(self, events: Iterable[Event]) -> None:
        """Decorate and enqueue; returns once every event is accepted by the queue."""
        batch = self._prepare(events)
        if batch:
            await self.queue.put(batch)

    async def push_within_limit(self, events: list[Event]) -> None:
        """Push what one read, datagram or response gave (any number of events) in even pushes within the
        queue's push limit (pipeline/queue/push_size.py): a larger push waits for an empty queue."""
        for start, stop in push_slices(len(events), self.queue.push_limit()):
            await self.push(events[start:stop] if stop - start < len(events) else events)

    def push_blocking(self, events: Iterable[Event], timeout: float | None = None) -> bool:
        """From a thread: decorate and enqueue; False if not accepted before timeout/stop."""
        batch = self._prepare(events)
        if not batch:
            return True
        return self.queue.put_blocking(batch, timeout=timeout, stopping=self.stopping)

    def push_tracked_blocking(self, events: Iterable[Event], on_delivered: Any,
                              stop: threading.Event | None = None) -> bool:
        """From a thread: decorate, enqueue (waiting while full) and call ``on_delivered()`` once the
        events are safe (persisted queue: accepted; memory queue: through the outputs).
        False, and no callback ever, if the pipeline (or ``stop``) stops before the queue accepts."""
        batch = self._prepare(events)
        if not batch:
            on_delivered()
            return True
        token = self.acks.track(batch, on_delivered)
        try:
            while not (self.stopping.is_set() or (stop is not None and stop.is_set())):
                if self.queue.put_blocking(batch, timeout=0.5, stopping=self.stopping):
                    self.acks.accepted(token)
                    return True
        except BaseException:
            self.acks.abandon(batch)
            raise
        self.acks.abandon(batch)
        return False

    def _prepare(self, events: Iterable[Event]) -> list[Event]:
        batch = events if isinstance(events, list) else list(events)
        decorate = self._decorate
        if decorate is None:  # the input adds nothing (Input.decorator): no call per event
            pass
        elif self.defer_decoding:
            from pipeline.runtime.rawevents import RawEvent

            for event in batch:
                if not isinstance(event, RawEvent):  # a RawEvent's (RawBatch's) source decorates it in the worker
                    decorate(event)
        else:
            for event in batch:
                decorate(event)
        if self.metrics is not None:
            self.metrics.add_out(push_weight(batch))  # a RawBatch counts as its events
        return batch

    async def run_blocking(self, func: Any, *args: Any) -> Any:
        """Run a blocking read loop in a daemon thread (never holds up process exit)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def target() -> None:
            try:
                result = func(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)

        threading.Thread(target=target, name=f"input-{getattr(func, '__name__', 'reader')}", daemon=True).start()
        return await future

    async def wait_stopping(self, timeout: float | None = None) -> bool:
        """Sleep until the pipeline stops (True) or the timeout passes (False)."""
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        while not self.stopping.is_set():
            if deadline is not None and asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Input(Plugin):
    kind = "input"
    Options: ClassVar[type] = InputOptions
    #: inputs that read a finite source set this so the pipeline ends when they return
    finite: bool = False

    @property
    def codec(self) -> CodecPlugin:
        return self.options.codec  # type: ignore[no-any-return]

    def decorate(self, event: Event) -> None:
        """type (if unset), add_field, tags — Logstash's order for inputs."""
        opts = self.options
        decorate_input(event, opts.type, opts.add_field, opts.tags)

    #: True for inputs that decorate each event themselves (:attr:`own_decorator`) before setting fields of
    #: their own, as the Logstash plugin does (decorate(event) then event.set ...): the pipeline then does not
    #: decorate their pushes again.
    decorates_itself: ClassVar[bool] = False

    @property
    def own_decorator(self) -> Callable[[Event], None] | None:
        """:meth:`decorate`, or None when this input has no type, add_field or tags (two calls per event
        saved on the hot path)."""
        opts = self.options
        return self.decorate if (opts.type or opts.add_field or opts.tags) else None

    @property
    def decorator(self) -> Callable[[Event], None] | None:
        """What the pipeline calls on each event pushed: :attr:`own_decorator`, None if the input decorates
        itself."""
        return None if self.decorates_itself else self.own_decorator

    async def run(self, ctx: InputContext) -> None:
        """Read until ``ctx.stopping`` is set (or the source ends, for finite inputs)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Interrupt a blocking read (close sockets/files); ``ctx.stopping`` is already set."""
