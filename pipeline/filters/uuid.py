"""The uuid filter: add a random UUID to each event."""

from __future__ import annotations

import uuid as _uuid
from dataclasses import dataclass
from typing import Any

from pipeline import fieldref
from pipeline.event import Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register


@register
class Uuid(Filter):
    """Set a field to a random (version 4) UUID, e.g. to use as a document id."""

    name = "uuid"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        target: str = option(doc="The field that receives the UUID.")
        overwrite: bool = option(False, "Replace the field's value when it already has one.")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._target = fieldref.parse(options.target)

    def filter(self, event: Event) -> None:
        if self.options.overwrite or self._target.get(event.data) is None:
            event.set(self._target, str(_uuid.uuid4()))
        self.filter_matched(event)
