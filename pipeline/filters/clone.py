"""The clone filter: emit copies of an event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.event import Event
from pipeline.filters import _ecs
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register


@register
class Clone(Filter):
    """Emit one copy of the event per name in ``clones``; the original goes on unchanged.

    Each copy is marked with its name: in ``tags`` in ECS mode (the default,
    as in Logstash 8), in the ``type`` field with ``ecs_compatibility =>
    disabled``. add_field/add_tag and the other common options apply to the
    copies only.
    """

    name = "clone"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        clones: list[str] = option(doc="One copy per name; the name goes in tags (ECS) or type (legacy).")
        ecs_compatibility: _ecs.EcsMode | None = option(
            None, "disabled: set the copy's type field; v1/v8: tag the copy. Default: the pipeline's setting (v8).")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._legacy = _ecs.resolve(options.ecs_compatibility, self.context) == "disabled"
        if not options.clones:
            self.logger.warning("clone: the clones option is empty, no copies will be made")

    def filter(self, event: Event) -> list[Event]:
        copies = []
        for name in self.options.clones:
            copy = event.clone()
            if self._legacy:
                copy.set("type", name)
            else:
                copy.tag(name)
            self.filter_matched(copy)
            copies.append(copy)
        return copies
