"""stdin input: reads standard input (line codec by default) until EOF."""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass

from pipeline.event import Event
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import Codec, option, register


@dataclass(frozen=True, kw_only=True)
class StdinOptions(InputOptions):
    codec: Codec = option("line", "Codec decoding standard input.")


@register
class Stdin(Input):
    """Reads events from standard input; the pipeline stops at end of input."""

    name = "stdin"
    Options = StdinOptions
    finite = True

    def register(self) -> None:
        self._host = socket.gethostname()

    def _decorate_host(self, events: list[Event]) -> list[Event]:
        for event in events:
            if "host" not in event.data:
                event.data["host"] = {"hostname": self._host}
        return events

    async def run(self, ctx: InputContext) -> None:
        await ctx.run_blocking(self._read, ctx)

    def _read(self, ctx: InputContext) -> None:
        stream = sys.stdin.buffer
        codec = self.codec.clone()
        read = getattr(stream, "read1", stream.read)
        while not ctx.is_stopping:
            chunk = read(65536)
            if not chunk:
                break
            events = self._decorate_host(list(codec.decode(chunk)))
            if events and not ctx.push_blocking(events):
                return
        ctx.push_blocking(self._decorate_host(list(codec.flush())))
