"""stdout output: prints events (rubydebug by default, or any codec such as json_lines)."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

from pipeline.event import Event
from pipeline.outputs.base import Output, OutputOptions
from pipeline.plugin import Codec, option, register


@dataclass(frozen=True, kw_only=True)
class StdoutOptions(OutputOptions):
    codec: Codec = option("rubydebug", "Codec formatting each event (rubydebug, json_lines, line, json ...).")


@register
class Stdout(Output):
    """Writes events to standard output."""

    name = "stdout"
    Options = StdoutOptions

    def register(self) -> None:
        self._lock = threading.Lock()
        self._json_like = self.codec.name == "json"

    def receive(self, events: list[Event]) -> None:
        encode = self.codec.encode
        sep = b"\n" if self._json_like else b""
        data = b"".join(encode(e) + sep for e in events)
        with self._lock:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
