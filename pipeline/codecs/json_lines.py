"""json_lines codec: one JSON document per line (NDJSON)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipeline import serde
from pipeline.codecs.base import Codec, CodecOptions
from pipeline.codecs.json import events_from_json
from pipeline.codecs.line import LineSplitter
from pipeline.event import Event
from pipeline.plugin import ByteSize, no_effect, option, register

TOO_BIG_TAG = "_jsonparsetoobigfailure"


@dataclass(frozen=True, kw_only=True)
class JsonLinesOptions(CodecOptions):
    delimiter: str = option("\n", "Line delimiter.")
    target: str | None = option(None, "Decode each line under this field instead of the event's top level.")
    decode_size_limit_bytes: ByteSize = option(
        ByteSize(512 * 1024 * 1024), "Longest line decoded; a longer one becomes an event whose message is the "
                                     "line, tagged _jsonparsetoobigfailure (as Logstash).")
    ecs_compatibility: Any = no_effect("this codec names no fields after ECS")


@register
class JsonLines(Codec):
    """Reads newline-delimited JSON (invalid lines are tagged _jsonparsefailure); writes one JSON per line."""

    name = "json_lines"
    Options = JsonLinesOptions

    def register(self) -> None:
        self._delimiter = self.options.delimiter.encode()
        self._splitter = LineSplitter(self._delimiter)

    def _decode_line(self, line: bytes) -> list[Event]:
        if not line.strip():
            return []
        if len(line) > self.options.decode_size_limit_bytes:
            event = Event({"message": line.decode("utf-8", "replace")})
            event.tag(TOO_BIG_TAG)
            return [event]
        return events_from_json(line.decode("utf-8", "replace"), self.options.target)

    def decode(self, data: bytes) -> Iterator[Event]:
        for line in self._splitter.feed(data):
            yield from self._decode_line(line)

    def flush(self) -> Iterator[Event]:
        rest = self._splitter.flush()
        if rest is not None:
            yield from self._decode_line(rest)

    def encode(self, event: Event) -> bytes:
        return serde.event_json(event) + self._delimiter

    def encode_many(self, events: list[Event]) -> bytes:
        """The events' lines joined, as ``b"".join(map(encode, events))`` without a copy per event."""
        return serde.events_json_lines(events, self._delimiter)
