"""The json_encode filter: serialise a field to a JSON string."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline import fieldref
from pipeline.event import Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register
from pipeline.serde import dumps_str

FAILURE_TAG = "_jsongeneratefailure"


@register
class JsonEncode(Filter):
    """Write ``source`` as compact JSON text into ``target`` (default: ``source`` itself).

    As in Logstash a missing source becomes ``"null"``; timestamps are ISO8601
    strings. A value that cannot be encoded is tagged ``_jsongeneratefailure``.
    """

    name = "json_encode"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        source: str = option(doc="The field to encode.")
        target: str | None = option(None, "Where the JSON text goes (default: replaces source).")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._source = fieldref.parse(options.source)
        self._target = fieldref.parse(options.target or options.source)

    def filter(self, event: Event) -> None:
        value = self._source.get(event.data)
        try:
            text = dumps_str(value)
        except TypeError as exc:  # orjson: unsupported type, integer over 64 bits, too deep
            event.tag(FAILURE_TAG)
            self.logger.warning("json_encode (id=%s): cannot encode %s: %s", self.id, self.options.source, exc)
            return
        event.set(self._target, text)
        self.filter_matched(event)
