"""line codec: one event per delimiter-terminated line; the last partial line waits for more data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.codecs.base import Codec, CodecOptions
from pipeline.codecs.plain import default_text
from pipeline.event import Event
from pipeline.plugin import ByteSize, option, register
from pipeline.template import Template

TRUNCATED_TAG = "_line_truncated"


@dataclass(frozen=True, kw_only=True)
class LineOptions(CodecOptions):
    delimiter: str = option("\n", "Line delimiter for decoding and encoding.")
    format: Template | None = option(None, "sprintf format used when encoding.")
    decode_size_limit_bytes: ByteSize = option(
        ByteSize(1024 * 1024), f"Longest line kept when decoding (as the file input's max_line_bytes); a "
        f"longer one is cut to this size and tagged {TRUNCATED_TAG}, the rest of it dropped, so one "
        "client cannot make a connection hold an endless line. 0: no limit.")


class LineSplitter:
    """Splits a byte stream on a delimiter, keeping the partial tail between calls.

    The tail is appended to, never rebuilt, so a long line costs linear time. With ``max_bytes``
    a line is cut at that size (reported by :attr:`truncated`) and the rest of it skipped.
    """

    def __init__(self, delimiter: bytes, max_bytes: int = 0) -> None:
        self.delimiter = delimiter
        self.max_bytes = max_bytes
        self.buffer = bytearray()
        self.truncated: list[int] = []  # indexes, in the last feed's result, of cut lines
        self._skipping = False  # inside the dropped rest of a cut line

    def feed(self, data: bytes) -> list[bytes]:
        self.truncated = []
        if not self.buffer and not self._skipping and not self.max_bytes:
            parts = data.split(self.delimiter)  # the common case: no copy of the tail
            self.buffer += parts.pop()
            return parts
        lines: list[bytes] = []
        width = len(self.delimiter)
        if width > 1 and self.buffer:  # a delimiter may straddle two reads
            keep = min(width - 1, len(self.buffer))
            data = bytes(self.buffer[-keep:]) + data
            del self.buffer[-keep:]
        start = 0
        while True:
            found = data.find(self.delimiter, start)
            piece = data[start:] if found < 0 else data[start:found]
            if not self._skipping:
                self.buffer += piece
                if self.max_bytes and len(self.buffer) > self.max_bytes:
                    self.truncated.append(len(lines))
                    lines.append(bytes(self.buffer[:self.max_bytes]))
                    self.buffer.clear()
                    self._skipping = found < 0
                    if found < 0:
                        return lines
                    start = found + width
                    continue
            if found < 0:
                return lines
            if self._skipping:
                self._skipping = False
            else:
                lines.append(bytes(self.buffer))
                self.buffer.clear()
            start = found + width

    def flush(self) -> bytes | None:
        rest = bytes(self.buffer)
        self.buffer.clear()
        self._skipping = False
        return rest or None


@register
class Line(Codec):
    """Reads delimiter-separated lines (partial lines wait for more data); writes one line per event."""

    name = "line"
    Options = LineOptions

    def register(self) -> None:
        self._delimiter = self.options.delimiter.encode()
        self._splitter = LineSplitter(self._delimiter, int(self.options.decode_size_limit_bytes))

    def decode(self, data: bytes) -> Iterator[Event]:
        splitter = self._splitter
        lines = splitter.feed(data)
        cut = splitter.truncated
        for index, line in enumerate(lines):
            event = Event({"message": self.text(line)})
            if cut and index in cut:
                event.tag(TRUNCATED_TAG)
            yield event

    def flush(self) -> Iterator[Event]:
        rest = self._splitter.flush()
        if rest is not None:
            yield Event({"message": self.text(rest)})

    def encode(self, event: Event) -> bytes:
        fmt = self.options.format
        return (fmt.render(event) if fmt else default_text(event)).encode() + self._delimiter
