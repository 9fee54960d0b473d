"""edn_lines codec: one EDN map per line → one event; writes one EDN map per event and line.

The EDN conversions are the edn codec's (pipeline.codecs.edn); a line that is not an EDN map is
kept in message and tagged _ednparsefailure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.codecs._lines import TRUNCATED_TAG, LineEventsCodec, size_limit_option
from pipeline.codecs.edn import PARSE_FAILURE_TAG, EdnOptions, event_edn, parse_event
from pipeline.event import Event
from pipeline.plugin import ByteSize, register


@dataclass(frozen=True, kw_only=True)
class EdnLinesOptions(EdnOptions):
    decode_size_limit_bytes: ByteSize = size_limit_option(
        10 * 1024 * 1024, f"A cut line is not parsed, so it is also tagged {PARSE_FAILURE_TAG}. Not in Logstash, whose "
        "codec has no limit.")



@register
class EdnLines(LineEventsCodec):
    """Reads one EDN map per line (anything else is kept in message, tagged _ednparsefailure); writes
    one EDN map per event, newline-terminated."""

    name = "edn_lines"
    Options = EdnLinesOptions

    cut_tags = (PARSE_FAILURE_TAG, TRUNCATED_TAG)

    def lines_events(self, lines: list[bytes]) -> Iterator[Event]:
        for line in lines:
            text = self.text(line)
            if text.strip():
                yield parse_event(text, self.options.target)

    def encode(self, event: Event) -> bytes:
        return event_edn(event).encode() + b"\n"
