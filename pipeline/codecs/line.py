"""line codec: one event per delimiter-terminated line; the last partial line waits for more data."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.codecs._lines import LENGTH_FIELD, TRUNCATED_TAG, LineEventsCodec, LineSplitter, note_cut
from pipeline.codecs.base import CodecOptions
from pipeline.codecs.plain import default_text
from pipeline.event import Event
from pipeline.plugin import ByteSize, option, register
from pipeline.template import Template

__all__ = ["LENGTH_FIELD", "TRUNCATED_TAG", "Line", "LineOptions", "LineSplitter", "note_cut"]


@dataclass(frozen=True, kw_only=True)
class LineOptions(CodecOptions):
    delimiter: str = option("\n", "Line delimiter for decoding and encoding.")
    format: Template | None = option(None, "sprintf format used when encoding.")
    decode_size_limit_bytes: ByteSize = option(
        ByteSize(1024 * 1024), f"Longest line kept when decoding (as the file input's max_line_bytes); a "
        f"longer one is cut to this size, tagged {TRUNCATED_TAG} with its whole length in {LENGTH_FIELD}, the "
        "rest of it dropped (and logged), so one client cannot make a connection hold an endless line. "
        "0: no limit.")


@register
class Line(LineEventsCodec):
    """Reads delimiter-separated lines (partial lines wait for more data); writes one line per event."""

    name = "line"
    Options = LineOptions

    def register(self) -> None:
        super().register()
        self._delimiter = self.options.delimiter.encode()

    def lines_events(self, lines: list[bytes]) -> list[Event]:
        text = self.text
        return [Event({"message": text(line)}) for line in lines]

    def encode(self, event: Event) -> bytes:
        fmt = self.options.format
        return (fmt.render(event) if fmt else default_text(event)).encode() + self._delimiter
