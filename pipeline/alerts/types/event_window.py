"""ElastAlert2's EventWindow as JSON-able state: (time, count) entries no further apart than a timeframe.

Appending an entry drops the oldest ones until the newest and the oldest are less
than ``timeframe`` apart; the window is saved in the rule's memory between runs.
"""

from __future__ import annotations

import bisect
from typing import Any


class EventWindow:
    """Entries ``[epoch seconds, count]`` sorted by time; ``count()`` is their sum."""

    def __init__(self, timeframe: float, entries: list[list[float]] | None = None) -> None:
        self.timeframe = timeframe
        self.entries: list[list[float]] = entries if entries is not None else []

    def append(self, when: float, count: float) -> None:
        bisect.insort(self.entries, [when, count], key=lambda entry: entry[0])
        while self.entries and self.entries[-1][0] - self.entries[0][0] >= self.timeframe:
            self.entries.pop(0)

    def count(self) -> float:
        return sum(entry[1] for entry in self.entries)

    def newest(self) -> float | None:
        return self.entries[-1][0] if self.entries else None


def windows(memory: dict[str, Any], timeframe: float) -> dict[str, EventWindow]:
    """The rule's windows per query_key value (keys are the JSON of the value), backed by ``memory``."""
    stored: dict[str, list[list[float]]] = memory.setdefault("windows", {})
    return {key: EventWindow(timeframe, entries) for key, entries in stored.items()}


def save(memory: dict[str, Any], found: dict[str, EventWindow]) -> None:
    memory["windows"] = {key: window.entries for key, window in found.items() if window.entries}
