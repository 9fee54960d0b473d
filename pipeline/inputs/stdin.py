"""stdin input: reads standard input (line codec by default) until EOF."""

from __future__ import annotations

import asyncio
import os
import select
import socket
import sys
import threading
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.event import Event
from pipeline.inputs._common import ecs_mode, ecs_option
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import Codec, option, register
from pipeline.queue.push_size import push_slices


@dataclass(frozen=True, kw_only=True)
class StdinOptions(InputOptions):
    codec: Codec = option("line", "Codec decoding standard input.")
    ecs_compatibility: Literal["disabled", "v1", "v8"] | None = ecs_option()


@register
class Stdin(Input):
    """Reads events from standard input; the pipeline stops at end of input."""

    name = "stdin"
    Options = StdinOptions
    finite = True

    def register(self) -> None:
        self._host = socket.gethostname()
        self._ecs = ecs_mode(self) != "disabled"

    decorates_itself = True  # in _decorate_host, before adding the host

    def _decorate_host(self, events: list[Event]) -> list[Event]:
        # Logstash's stdin runs decorate(event) (type, add_field, tags) and then sets the host only
        # when the event has none (logstash-input-stdin lib/logstash/inputs/stdin.rb, process), so
        # add_field => {"host" => ...} wins instead of making host an array.
        decorate = self.own_decorator
        for event in events:
            if decorate is not None:
                decorate(event)
            data = event.data
            if "host" not in data:  # ECS: [host][hostname]; legacy Logstash: host
                data["host"] = {"hostname": self._host} if self._ecs else self._host
            elif self._ecs and type(data["host"]) is dict:  # Logstash: unless event.include?("[host][hostname]")
                data["host"].setdefault("hostname", self._host)
        return events

    async def run(self, ctx: InputContext) -> None:
        codec = self.codec.clone()
        lock = threading.Lock()  # the reader thread and the expiry poll share the codec
        reader = asyncio.ensure_future(ctx.run_blocking(self._read, ctx, codec, lock))
        # A multiline codec with auto_flush_interval emits an event once no line came for a while.
        flush_expired = getattr(codec, "flush_expired", None)
        while flush_expired is not None and not reader.done():
            await asyncio.wait({reader}, timeout=0.5)
            with lock:
                expired = flush_expired()
            if expired:
                await ctx.push(self._decorate_host(list(expired)))
        await reader

    def _read(self, ctx: InputContext, codec: Any, lock: threading.Lock) -> None:
        read = _stoppable_reader(ctx)
        while not ctx.is_stopping:
            chunk = read(65536)
            if chunk is None:
                continue  # nothing yet; look at the stop flag again
            if not chunk:
                if ctx.is_stopping:
                    return  # the end came with the stop (a closed pipe): keep the partial line out too
                break
            with lock:
                events = self._decorate_host(list(codec.decode(chunk)))
            for start, stop in push_slices(len(events), ctx.queue.push_limit()):  # a 64 KiB read: 1000s of lines
                if not ctx.push_blocking(events[start:stop] if stop - start < len(events) else events):
                    return
        else:
            return  # stopped (SIGTERM): a partial last line is not an event; only the real end of input is
        with lock:
            rest = self._decorate_host(list(codec.flush()))
        ctx.push_blocking(rest)


def _stoppable_reader(ctx: InputContext) -> Any:
    """A read function that returns None every 0.2 s without data, so a stop is noticed even when no
    input comes (POSIX: select on fd 0). Elsewhere (Windows pipes cannot be selected) reads block."""
    stream = sys.stdin.buffer
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        fd = -1
    if fd < 0 or sys.platform == "win32":
        return getattr(stream, "read1", stream.read)

    def read(size: int) -> bytes | None:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            return None
        return os.read(fd, size)

    return read
