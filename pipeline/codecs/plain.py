"""plain codec: each chunk of bytes is one event's ``message``; encodes with ``format``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipeline.codecs.base import Codec, CodecOptions
from pipeline.event import Event
from pipeline.plugin import no_effect, option, register
from pipeline.template import Template


@dataclass(frozen=True, kw_only=True)
class PlainOptions(CodecOptions):
    ecs_compatibility: Any = no_effect("this plugin names no fields after ECS")
    format: Template | None = option(None, "sprintf format used when encoding; default: timestamp, host and message.")


def default_text(event: Event) -> str:
    """Logstash's ``event.to_s``: timestamp, host and message."""
    host = event.get("[host][name]") or event.get("host")
    if isinstance(host, dict):
        host = host.get("name") or ""
    message = event.get("message")
    return f"{event.timestamp.iso()} {host or ''} {'' if message is None else message}"


@register
class Plain(Codec):
    """Reads each chunk as one plain-text event; writes the formatted event."""

    name = "plain"
    Options = PlainOptions

    def decode(self, data: bytes) -> Iterator[Event]:
        yield Event({"message": self.text(data)})

    def encode(self, event: Event) -> bytes:
        fmt = self.options.format
        return (fmt.render(event) if fmt else default_text(event)).encode()
