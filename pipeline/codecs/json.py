"""json codec: each chunk is one JSON document (an array gives one event per element)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipeline import fieldref, serde
from pipeline.codecs.base import Codec, CodecOptions
from pipeline.event import Event
from pipeline.plugin import no_effect, option, register

JSON_FAILURE_TAG = "_jsonparsefailure"


def events_from_json(text: str | bytes, target: str | None = None) -> list[Event]:
    """Events from a JSON text; invalid JSON gives one tagged event keeping the raw text.

    With ``target`` each decoded document goes under that field instead of the top level."""
    if target:
        ref = fieldref.parse(target)
        events = events_from_json(text)
        if any(JSON_FAILURE_TAG in e.tags for e in events):
            return events
        wrapped = []
        for decoded in events:
            event = Event({})
            event.set(ref, decoded.data)
            wrapped.append(event)
        return wrapped
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


@dataclass(frozen=True, kw_only=True)
class JsonOptions(CodecOptions):
    target: str | None = option(None, "Decode each document under this field instead of the event's top level.")
    ecs_compatibility: Any = no_effect("this codec names no fields after ECS")


@register
class Json(Codec):
    """Reads one JSON document per chunk; writes each event as JSON. Invalid JSON is tagged _jsonparsefailure."""

    name = "json"
    Options = JsonOptions

    def decode(self, data: bytes) -> Iterator[Event]:
        if not data.strip():
            return
        yield from events_from_json(self.text(data) if self.options.charset.upper() != "UTF-8" else
                                    data.decode("utf-8", "replace"), self.options.target)

    def encode(self, event: Event) -> bytes:
        return serde.event_json(event)
