"""json codec: each chunk is one JSON document (an array gives one event per element)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipeline import serde
from pipeline.codecs.base import Codec, CodecOptions
from pipeline.event import Event
from pipeline.plugin import register

JSON_FAILURE_TAG = "_jsonparsefailure"


def events_from_json(text: str | bytes) -> list[Event]:
    """Events from a JSON text; invalid JSON gives one tagged event keeping the raw text."""
    try:
        value: Any = serde.loads(text)
    except serde.JSONDecodeError:
        raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        event = Event({"message": raw})
        event.tag(JSON_FAILURE_TAG)
        return [event]
    if isinstance(value, dict):
        return [Event(value)]
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return [Event(v) for v in value]
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    event = Event({"message": raw})
    event.tag(JSON_FAILURE_TAG)
    return [event]


@register
class Json(Codec):
    """Reads one JSON document per chunk; writes each event as JSON. Invalid JSON is tagged _jsonparsefailure."""

    name = "json"
    Options = CodecOptions

    def decode(self, data: bytes) -> Iterator[Event]:
        if not data.strip():
            return
        yield from events_from_json(self.text(data) if self.options.charset.upper() != "UTF-8" else
                                    data.decode("utf-8", "replace"))

    def encode(self, event: Event) -> bytes:
        return serde.event_json(event)
