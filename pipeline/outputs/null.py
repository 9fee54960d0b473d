"""null output: discards events (for benchmarks and tests)."""

from __future__ import annotations

from pipeline.event import Event
from pipeline.outputs.base import Output
from pipeline.plugin import register


@register
class Null(Output):
    """Discards every event (counts them in metrics)."""

    name = "null"

    def receive(self, events: list[Event]) -> None:
        return None
