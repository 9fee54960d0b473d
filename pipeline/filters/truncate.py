"""The truncate filter: cut string fields to a number of bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline import fieldref
from pipeline.event import METADATA, TIMESTAMP, Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register


def truncate_utf8(text: str, length_bytes: int) -> str:
    """``text`` cut to at most ``length_bytes`` UTF-8 bytes, never splitting a character."""
    if len(text) * 4 <= length_bytes:
        return text  # cannot be too long, skip the encoding
    raw = text.encode("utf-8")
    if len(raw) <= length_bytes:
        return text
    return raw[:length_bytes].decode("utf-8", "ignore")


def _positive(value: int) -> str | None:
    return None if value > 0 else "must be a positive number of bytes"


@register
class Truncate(Filter):
    """Truncate string fields to at most ``length_bytes`` bytes (UTF-8 safe).

    Strings inside arrays and hashes of the listed fields are truncated too.
    Without ``fields`` every field of the event is (except ``@timestamp`` and
    ``@metadata``).
    """

    name = "truncate"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        length_bytes: int = option(doc="Maximum length in bytes.", check=_positive)
        fields: list[str] = option([], "Fields to truncate (sprintf); default: all fields.")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._fields = [name for name in options.fields]

    def filter(self, event: Event) -> None:
        data = event.data
        limit = self.options.length_bytes
        if not self._fields:
            for key, value in list(data.items()):
                if key not in (TIMESTAMP, METADATA):
                    data[key] = self._truncate(value, limit)
        else:
            for name in self._fields:
                ref = fieldref.parse(event.sprintf(name) if "%{" in name else name)
                if ref.includes(data):
                    ref.set(data, self._truncate(ref.get(data), limit))
        self.filter_matched(event)

    def _truncate(self, value: Any, limit: int) -> Any:
        if isinstance(value, str):
            return truncate_utf8(value, limit)
        if isinstance(value, list):
            return [self._truncate(v, limit) for v in value]
        if isinstance(value, dict):
            return {k: self._truncate(v, limit) for k, v in value.items()}
        return value
