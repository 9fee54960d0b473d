"""edn_lines codec: one EDN map per line → one event; writes one EDN map per event and line.

The EDN conversions are the edn codec's (pipeline.codecs.edn); a line that is not an EDN map is
kept in message and tagged _ednparsefailure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.codecs.base import Codec
from pipeline.codecs.edn import EdnOptions, event_edn, parse_event
from pipeline.codecs.line import LineSplitter
from pipeline.event import Event
from pipeline.plugin import register


@dataclass(frozen=True, kw_only=True)
class EdnLinesOptions(EdnOptions):
    pass


@register
class EdnLines(Codec):
    """Reads one EDN map per line (anything else is kept in message, tagged _ednparsefailure); writes
    one EDN map per event, newline-terminated."""

    name = "edn_lines"
    Options = EdnLinesOptions

    def register(self) -> None:
        self._splitter = LineSplitter(b"\n")

    def _decode_line(self, line: bytes) -> Iterator[Event]:
        text = self.text(line)
        if text.strip():
            yield parse_event(text, self.options.target)

    def decode(self, data: bytes) -> Iterator[Event]:
        for line in self._splitter.feed(data):
            yield from self._decode_line(line)

    def flush(self) -> Iterator[Event]:
        rest = self._splitter.flush()
        if rest is not None:
            yield from self._decode_line(rest)

    def encode(self, event: Event) -> bytes:
        return event_edn(event).encode() + b"\n"
