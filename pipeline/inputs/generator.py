"""generator input: emits test events (a message or a list of lines), ``count`` times or forever."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Literal

from pipeline.codecs.base import line_decoder
from pipeline.event import Event
from pipeline.inputs._common import ecs_mode, ecs_option
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import option, register
from pipeline.queue.push_size import push_slices

BATCH = 256  # events per push at most (whole rounds, within the queue's push limit): amortises queue work

@dataclass(frozen=True, kw_only=True)
class GeneratorOptions(InputOptions):
    message: str = option("Hello world!", "The message of each event (when lines is not set).")
    lines: list[str] = option([], "Messages emitted in turn; one round counts once towards count.")
    count: int = option(0, "How many rounds to emit; 0 means forever.",
                        check=lambda v: "must be >= 0" if v < 0 else None)
    threads: int = option(1, "Emit every event this many times (Logstash runs this many generator threads, "
                             "each with its own sequence).", check=lambda v: None if v > 0 else "must be > 0")
    ecs_compatibility: Literal["disabled", "v1", "v8"] | None = ecs_option()


@register
class Generator(Input):
    """Generates events for tests and benchmarks (``sequence`` numbers each event)."""

    name = "generator"
    Options = GeneratorOptions
    decorates_itself = True  # in run, before its own fields

    def register(self) -> None:
        self._host = socket.gethostname()
        self._ecs = ecs_mode(self) != "disabled"
        self.finite = self.options.count > 0  # type: ignore[misc]

    async def run(self, ctx: InputContext) -> None:
        lines = self.options.lines or [self.options.message]
        count = self.options.count
        codec = self.codec
        decode = line_decoder(codec)  # each line is whole: a line-delimited codec must not wait for a newline
        sequence = 0
        rounds = 0
        limit = min(BATCH, ctx.queue.push_limit())
        # Logstash's generator decorates first, then sets the host unless the event has one and the sequence
        # over anything (logstash-input-generator lib/logstash/inputs/generator.rb, decorate_and_set_fields):
        # add_field of host wins, add_field of sequence does not, neither makes an array.
        decorate = self.own_decorator
        host, ecs = self._host, self._ecs
        while not ctx.is_stopping and (count == 0 or rounds < count):
            batch: list[Event] = []
            # Whole rounds per batch keep `count` exact.
            while len(batch) < limit and (count == 0 or rounds < count):
                for line in lines:
                    for event in decode(line.encode()):
                        if decorate is not None:
                            decorate(event)
                        data = event.data
                        data["sequence"] = sequence
                        if "host" not in data:
                            data["host"] = {"name": host} if ecs else host
                        elif ecs and isinstance(data["host"], dict):  # [host][ip] from add_field or the codec
                            data["host"].setdefault("name", host)
                        batch.append(event)
                        batch.extend(event.clone() for _ in range(self.options.threads - 1))
                    sequence += 1
                rounds += 1
            for start, stop in push_slices(len(batch), limit):  # a round may overshoot the limit
                await ctx.push(batch[start:stop] if stop - start < len(batch) else batch)
            await asyncio.sleep(0)
