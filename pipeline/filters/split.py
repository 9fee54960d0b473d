"""The split filter: one event per line (or per array element) of a field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline import fieldref
from pipeline.event import Event
from pipeline.filters._ratelimit import WarningLimiter
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register

SPLIT_FAILURE_TAG = "_split_type_failure"


@register
class Split(Filter):
    """Split one event into several: one per piece of a string (``terminator``) or element of an array.

    Each new event is a copy of the original with the field (or ``target``)
    set to one piece; the original is dropped. Empty pieces are skipped; a
    string without the terminator leaves the event as it is. A field that is
    neither a string nor an array tags the event ``_split_type_failure``.
    """

    name = "split"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        field: str = option("message", "The field to split.")
        target: str | None = option(None, "Where each piece goes; default: the field itself.")
        terminator: str = option("\n", "The separator for string fields.")

        def __post_init__(self) -> None:
            if self.terminator == "":
                raise ValueError('option "terminator" must not be empty')

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._warnings = WarningLimiter(self.logger)
        self._field = fieldref.parse(options.field)
        self._target = fieldref.parse(options.target) if options.target else None

    def filter(self, event: Event) -> list[Event] | None:
        data = event.data
        value = self._field.get(data)
        if isinstance(value, list):
            # Without a target the array is removed first so that each copy does not carry all of it.
            pieces = self._field.delete(data) if self._target is None else value
        elif isinstance(value, str):
            pieces = value.split(self.options.terminator)
            if len(pieces) == 1:
                return None
        else:
            self._warnings.warning("split: %s is a %s, only strings and arrays can be split",
                                   self.options.field, type(value).__name__)
            event.tag(SPLIT_FAILURE_TAG)
            return None
        destination = self._target or self._field
        copies = []
        for piece in pieces:
            if piece is None or piece == "" or piece == [] or piece == {}:
                continue
            copy = event.clone()
            copy.set(destination, piece)
            self.filter_matched(copy)
            copies.append(copy)
        event.cancel()
        return copies
