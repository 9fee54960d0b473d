"""heartbeat input: one event every ``interval`` seconds, to watch that the pipeline is alive (Logstash's)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Literal

from pipeline import fieldref
from pipeline.event import Event
from pipeline.inputs._common import ecs_mode, ecs_option
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import option, register

_MAGIC_MESSAGES = ("epoch", "sequence")  # Logstash's old way of asking for a sequence, before `sequence`


@dataclass(frozen=True, kw_only=True)
class HeartbeatOptions(InputOptions):
    message: str = option("ok", "The message of each event. In legacy mode (ecs_compatibility => disabled) "
                                "and without sequence, \"epoch\" or \"sequence\" set the sequence instead.")
    interval: float = option(60, "Seconds between two events (measured from the start of the previous one).",
                             check=lambda v: "must be > 0" if v <= 0 else None)
    count: int = option(-1, "How many events, then the input ends; -1 means forever.",
                        check=lambda v: "must be -1 or > 0" if v == 0 or v < -1 else None)
    sequence: Literal["none", "epoch", "sequence"] | None = option(
        None, "Counter field: none, epoch (Unix seconds now) or sequence (1, 2, 3 ...), written to clock "
              "(legacy) or [event][sequence] (ECS). Default: none.")
    threads: int = option(1, "Emit each heartbeat this many times (Logstash runs this many heartbeat threads, "
                             "each with its own counter).", check=lambda v: None if v > 0 else "must be > 0")
    ecs_compatibility: Literal["disabled", "v1", "v8"] | None = ecs_option()


@register
class Heartbeat(Input):
    """Emits an event every ``interval`` seconds (``message``, host name, optional counter).

    ECS mode writes ``[host][name]`` and ``[event][sequence]``; legacy mode ``host`` and ``clock``.
    """

    name = "heartbeat"
    Options = HeartbeatOptions

    def register(self) -> None:
        opts = self.options
        ecs = ecs_mode(self) != "disabled"
        self._host = socket.gethostname()
        self._host_field = fieldref.parse("[host][name]" if ecs else "host")
        self._counter_field = fieldref.parse("[event][sequence]" if ecs else "clock")
        self._message: str | None = opts.message
        sequence = opts.sequence
        if sequence is None and opts.message in _MAGIC_MESSAGES:
            self.logger.warning("message contains sequence type specification (epoch|sequence); "
                                "for this purpose use the sequence option")
            if not ecs:  # Logstash reads the magic message only in legacy mode (deprecated there)
                sequence, self._message = opts.message, None
        self._sequence = sequence or "none"
        self.finite = opts.count > 0  # type: ignore[misc]

    def make_event(self, number: int) -> Event:
        """The ``number``-th heartbeat (counting from 1)."""
        if self._sequence == "none":
            event = Event({"message": self._message})
        else:
            event = Event({} if self._message is None else {"message": self._message})
            self._counter_field.set(event.data, int(time.time()) if self._sequence == "epoch" else number)
        self._host_field.set(event.data, self._host)
        return event

    async def run(self, ctx: InputContext) -> None:
        count, number = self.options.count, 0
        while not ctx.is_stopping:
            started = time.monotonic()
            number += 1
            await ctx.push([self.make_event(number) for _ in range(self.options.threads)])
            if number == count:
                return
            wait = self.options.interval - (time.monotonic() - started)
            if wait > 0 and await ctx.wait_stopping(wait):
                return
