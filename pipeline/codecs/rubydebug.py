"""rubydebug codec: Logstash's pretty, human-readable event dump (for stdout)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline import serde
from pipeline.codecs.base import Codec, CodecOptions
from pipeline.event import METADATA, Event
from pipeline.plugin import option, register
from pipeline.timestamp import Timestamp


@dataclass(frozen=True, kw_only=True)
class RubydebugOptions(CodecOptions):
    metadata: bool = option(False, "Also print @metadata (Logstash's rubydebug { metadata => true }).")


def _render(value: Any, indent: int) -> str:
    pad = "    " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        width = max(len(str(k)) + 2 for k in value)
        lines = [f'{pad}    {serde.dumps_str(str(k)).rjust(width)} => {_render(v, indent + 1)}'
                 for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))]
        return "{\n" + ",\n".join(lines) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        lines = [f"{pad}    [{i}] {_render(v, indent + 1)}" for i, v in enumerate(value)]
        return "[\n" + ",\n".join(lines) + f"\n{pad}]"
    if isinstance(value, Timestamp):
        return value.iso()
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return serde.dumps_str(value)
    return str(value)


@register
class Rubydebug(Codec):
    """Pretty-prints events like Logstash's rubydebug (sorted keys, ``=>``); encode only."""

    name = "rubydebug"
    Options = RubydebugOptions

    def encode(self, event: Event) -> bytes:
        data = event.data
        if not self.options.metadata and METADATA in data:
            data = {k: v for k, v in data.items() if k != METADATA}
        return (_render(data, 0) + "\n").encode()
