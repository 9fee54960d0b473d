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


def _check_parents(data: dict[str, Any], ref: FieldRef) -> None:
    """TypeError when a parent of ``ref`` holds a value that is not an object (setting would erase it)."""
    node: Any = data
    for key in ref.path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return
        if not isinstance(node, dict):
            raise TypeError(f"cannot set {ref.text}: [{key}] holds {type(node).__name__} {node!r}, not an object")


@register
class DeDot(Filter):
    """Replace dots in field names with ``separator`` (or make nested fields with ``nested``).

    Without ``fields`` every top-level field is checked; fields inside
    objects must be listed (``"[foo][bar.baz]"``), or found with
    ``recursive => true``, which also walks every object below the checked
    fields. Listed fields that are absent are skipped (Logstash would create
    them as null). A field that cannot be moved (its new name runs into a
    value that is not an object) stays as it was and the event is tagged
    ``tag_on_failure``.
    """

    name = "de_dot"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        separator: str = option("_", "What replaces each dot.")
        nested: bool = option(False, "Turn a.b into [a][b] instead of a_b.")
        fields: list[str] | None = option(None, "Fields to act on (default: every top-level field).")
        recursive: bool = option(False, "Also rename dotted keys inside the objects of the checked fields, "
                                 "at any depth (costly on big events).")
        tag_on_failure: str = option("_de_dot_error", "Tag added when a field cannot be renamed.")

        def __post_init__(self) -> None:
            if "." in self.separator:
                raise ValueError("de_dot: separator cannot be or contain '.'")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._listed = [fieldref.parse(f) for f in options.fields or [] if "." in f or options.recursive]

    def _renamed(self, path: tuple[str, ...]) -> FieldRef:
        if self.options.nested:
            return _ref(tuple(part for name in path for part in name.split(".")))
        return _ref(tuple(name.replace(".", self.options.separator) for name in path))

    def filter(self, event: Event) -> None:
        data = event.data
        if self.options.fields is None:
            recursive = self.options.recursive
            refs = [_ref((key,)) for key in list(data) if key != METADATA and ("." in key or recursive)]
        else:
            refs = self._listed
        try:
            for ref in refs:
                if ref.includes(data):
                    self._rename(event, ref)
        except (TypeError, ValueError) as exc:
            self.logger.warning("de_dot (id=%s): cannot rename a field, event tagged %s: %s", self.id,
                                self.options.tag_on_failure, exc)
            event.tag(self.options.tag_on_failure)
            return
        self.filter_matched(event)

    def _rename(self, event: Event, ref: FieldRef) -> None:
        data = event.data
        if any("." in part for part in ref.path):
            renamed = self._renamed(ref.path)
            _check_parents(data, renamed)
            event.set(renamed, ref.get(data))  # set before delete: a failed set loses nothing
            ref.delete(data)
            ref = renamed
        if self.options.recursive:
            content = ref.get(data)
            if isinstance(content, dict):
                for key in list(content):
                    self._rename(event, _ref((*ref.path, key)))
