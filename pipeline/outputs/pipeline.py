"""pipeline output: send events to the ``pipeline`` inputs of other pipelines in this process."""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass
from typing import Any

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.logs import RateLimitedLogger
from pipeline.outputs.base import Output, OutputOptions
from pipeline.plugin import option, register
from pipeline.runtime.bus import BUS

RETRY_WAIT = 1.0  # seconds between attempts while a downstream address is unavailable


@register
class Pipeline(Output):
    """Sends a copy of each event to every ``pipeline`` input listed in ``send_to`` (same process).

    With ``ensure_delivery`` (default) a batch waits, retrying, while a
    downstream address has no running input or its queue stays full, so
    nothing is lost and backpressure reaches this pipeline's inputs; without
    it, events for an unavailable address are dropped with a warning.
    Not available with ``pipeline.worker_type: process`` (outputs would run
    in other processes than the inputs they send to).
    """

    name = "pipeline"

    @dataclass(frozen=True, kw_only=True)
    class Options(OutputOptions):
        send_to: list[str] = option(doc="Addresses of the pipeline inputs to send to.",
                                    check=lambda v: "needs at least one address" if not v else None)
        ensure_delivery: bool = option(True, "Wait while a downstream address is unavailable (false: drop).")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._warn = RateLimitedLogger(self.logger)
        self._attached = False

    def register(self) -> None:
        if multiprocessing.parent_process() is not None:
            raise ConfigError("the pipeline output cannot run in worker processes "
                              "(pipeline.worker_type: process); use thread workers for this pipeline")
        BUS.attach(self.options.send_to)
        self._attached = True

    def receive(self, events: list[Event]) -> None:
        for address in self.options.send_to:
            self._send(address, events)

    def _send(self, address: str, events: list[Event]) -> None:
        while True:
            receiver = BUS.receiver(address, wait=RETRY_WAIT)
            # Fresh copies per attempt: the receiving input decorates them.
            if receiver is not None and receiver.deliver([e.clone() for e in events], timeout=RETRY_WAIT):
                return
            state = "has no running pipeline input" if receiver is None else "is not accepting events"
            if not self.options.ensure_delivery:
                self._warn.warning(f"drop:{self.id}:{address}", "pipeline output (id=%s): address %r %s; "
                                   "dropped %d event(s) (ensure_delivery => false)", self.id, address, state,
                                   len(events))
                return
            self._warn.warning(f"wait:{self.id}:{address}", "pipeline output (id=%s): address %r %s; "
                               "waiting (ensure_delivery)", self.id, address, state)

    def close(self) -> None:
        if self._attached:
            self._attached = False
            BUS.detach(self.options.send_to)
