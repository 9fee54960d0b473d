"""json_lines codec: one JSON document per line (NDJSON)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipeline import serde
from pipeline.codecs._lines import LENGTH_FIELD, TRUNCATED_TAG, LineEventsCodec
from pipeline.codecs.base import CodecOptions
from pipeline.codecs.json import events_from_json
from pipeline.event import Event
from pipeline.plugin import ByteSize, no_effect, option, register

TOO_BIG_TAG = "_jsonparsetoobigfailure"
DEFAULT_LIMIT = 10 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class JsonLinesOptions(CodecOptions):
    delimiter: str = option("\n", "Line delimiter.")
    target: str | None = option(None, "Decode each line under this field instead of the event's top level.")
    decode_size_limit_bytes: ByteSize = option(
        ByteSize(DEFAULT_LIMIT), f"Longest line decoded; of a longer one only this many bytes are kept, in an "
        f"event whose message they are, tagged {TOO_BIG_TAG} (as Logstash) and {TRUNCATED_TAG}, with the line's "
        f"whole length in {LENGTH_FIELD}; the rest is dropped (and logged). Logstash's default, 512mb, lets one "
        "client hold that much per connection; 10mb is Filebeat's max_bytes.",
        check=lambda v: None if v > 0 else "must be greater than 0")
    ecs_compatibility: Any = no_effect("this codec names no fields after ECS")


@register
class JsonLines(LineEventsCodec):
    """Reads newline-delimited JSON (invalid lines are tagged _jsonparsefailure); writes one JSON per line."""

    name = "json_lines"
    Options = JsonLinesOptions

    cut_tags = (TOO_BIG_TAG, TRUNCATED_TAG)

    def register(self) -> None:
        super().register()
        self._delimiter = self.options.delimiter.encode()

    def lines_events(self, lines: list[bytes]) -> Iterator[Event]:
        target = self.options.target
        for line in lines:
            if line.strip():
                yield from events_from_json(line.decode("utf-8", "replace"), target)

    def encode(self, event: Event) -> bytes:
        return serde.event_json(event) + self._delimiter

    def encode_many(self, events: list[Event]) -> bytes:
        """The events' lines joined, as ``b"".join(map(encode, events))`` without a copy per event."""
        return serde.events_json_lines(events, self._delimiter)
