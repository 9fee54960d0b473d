"""The de_dot filter: rename fields whose names contain dots (``a.b`` → ``a_b``, or ``[a][b]`` with nested)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline import fieldref
from pipeline.event import METADATA, Event
from pipeline.fieldref import FieldRef
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register


def _ref(path: tuple[str, ...]) -> FieldRef:
    return FieldRef("".join(f"[{p}]" for p in path), path)


@register
class DeDot(Filter):
    """Replace dots in field names with ``separator`` (or make nested fields with ``nested``).

    Without ``fields`` every top-level field is checked; fields inside
    objects must be listed (``"[foo][bar.baz]"``). Listed fields that are
    absent are skipped (Logstash would create them as null).
    """

    name = "de_dot"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        separator: str = option("_", "What replaces each dot.")
        nested: bool = option(False, "Turn a.b into [a][b] instead of a_b.")
        fields: list[str] | None = option(None, "Fields to act on (default: every top-level field).")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._listed = [fieldref.parse(f) for f in options.fields or [] if "." in f]

    def _renamed(self, path: tuple[str, ...]) -> FieldRef:
        if self.options.nested:
            return _ref(tuple(part for name in path for part in name.split(".")))
        return _ref(tuple(name.replace(".", self.options.separator) for name in path))

    def filter(self, event: Event) -> None:
        data = event.data
        if self.options.fields is None:
            refs = [_ref((key,)) for key in list(data) if "." in key and key != METADATA]
        else:
            refs = self._listed
        for ref in refs:
            if not ref.includes(data):
                continue
            value = ref.delete(data)
            event.set(self._renamed(ref.path), value)
        self.filter_matched(event)
