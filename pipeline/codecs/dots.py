"""dots codec: one "." per event, a progress indicator for outputs (stdout { codec => dots })."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.codecs.base import Codec
from pipeline.event import Event
from pipeline.plugin import BaseOptions, register


@register
class Dots(Codec):
    """Writes one "." per event and nothing else (encode only, as in Logstash)."""

    name = "dots"

    @dataclass(frozen=True, kw_only=True)
    class Options(BaseOptions):
        pass

    def decode(self, data: bytes) -> Iterator[Event]:
        raise NotImplementedError("codec dots only encodes: use it on outputs (stdout { codec => dots })")

    def encode(self, event: Event) -> bytes:
        return b"."
