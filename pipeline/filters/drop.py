"""The drop filter: drop events (all, or a random percentage)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from pipeline.event import Event
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register


def _percentage_check(value: int) -> str | None:
    return None if 0 <= value <= 100 else f"must be between 0 and 100, got {value}"


@register
class Drop(Filter):
    """Drop events, usually inside a conditional: ``if [level] == "debug" { drop {} }``.

    With ``percentage`` only that share of events (chosen at random) is
    dropped, for sampling.
    """

    name = "drop"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        percentage: int = option(100, "Share of events to drop, 0-100.", check=_percentage_check)

    def filter(self, event: Event) -> None:
        percentage = self.options.percentage
        if percentage == 100 or random.random() < percentage / 100:
            event.cancel()
