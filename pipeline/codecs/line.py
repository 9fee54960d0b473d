"""line codec: one event per delimiter-terminated line; the last partial line waits for more data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.codecs.base import Codec, CodecOptions
from pipeline.codecs.plain import default_text
from pipeline.event import Event
from pipeline.plugin import option, register
from pipeline.template import Template


@dataclass(frozen=True, kw_only=True)
class LineOptions(CodecOptions):
    delimiter: str = option("\n", "Line delimiter for decoding and encoding.")
    format: Template | None = option(None, "sprintf format used when encoding.")


class LineSplitter:
    """Splits a byte stream on a delimiter, keeping the partial tail between calls."""

    def __init__(self, delimiter: bytes) -> None:
        self.delimiter = delimiter
        self.buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        data = self.buffer + data if self.buffer else data
        parts = data.split(self.delimiter)
        self.buffer = parts.pop()
        return parts

    def flush(self) -> bytes | None:
        rest, self.buffer = self.buffer, b""
        return rest or None


@register
class Line(Codec):
    """Reads delimiter-separated lines (partial lines wait for more data); writes one line per event."""

    name = "line"
    Options = LineOptions

    def register(self) -> None:
        self._delimiter = self.options.delimiter.encode()
        self._splitter = LineSplitter(self._delimiter)

    def decode(self, data: bytes) -> Iterator[Event]:
        for line in self._splitter.feed(data):
            yield Event({"message": self.text(line)})

    def flush(self) -> Iterator[Event]:
        rest = self._splitter.flush()
        if rest is not None:
            yield Event({"message": self.text(rest)})

    def encode(self, event: Event) -> bytes:
        fmt = self.options.format
        return (fmt.render(event) if fmt else default_text(event)).encode() + self._delimiter
