"""pipeline input: receive events that ``pipeline`` outputs of other pipelines (same process) send to its address."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from pipeline.errors import QueueClosedError
from pipeline.event import Event
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import option, register
from pipeline.runtime.bus import BUS


@register
class Pipeline(Input):
    """Receives events sent by ``pipeline { send_to => [...] }`` outputs to ``address``.

    Pipeline-to-pipeline communication within one process (several
    pipelines in ``pipelines.yml``): one input per address; upstream outputs
    block while this pipeline's queue is full (backpressure). At shutdown it
    keeps accepting until every upstream pipeline has drained into it.
    """

    name = "pipeline"

    @dataclass(frozen=True, kw_only=True)
    class Options(InputOptions):
        address: str = option(doc="The virtual address upstream pipeline outputs send to.")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._ctx: InputContext | None = None
        self._closed = threading.Event()

    def deliver(self, events: list[Event], timeout: float) -> bool:
        ctx = self._ctx
        if ctx is None or self._closed.is_set():
            return False
        for event in events:
            self.decorate(event)
        try:
            accepted = ctx.queue.put_blocking(events, timeout=timeout, stopping=self._closed)
        except QueueClosedError:
            return False
        if accepted and ctx.metrics is not None:
            ctx.metrics.add_out(len(events))
        return accepted

    async def run(self, ctx: InputContext) -> None:
        self._ctx = ctx
        self._closed.clear()
        address = self.options.address
        BUS.listen(address, self)
        try:
            # Past a stop request, keep receiving while upstream pipelines are still draining into us.
            while not (ctx.is_stopping and BUS.senders(address) == 0):
                await asyncio.sleep(0.05)
        finally:
            self._closed.set()
            BUS.unlisten(address, self)

    def stop(self) -> None:
        """Nothing to interrupt: run() ends once upstream senders are gone."""

    def close(self) -> None:
        self._closed.set()
        BUS.unlisten(self.options.address, self)
