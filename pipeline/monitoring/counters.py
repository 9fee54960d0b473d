"""Small per-plugin counters a plugin keeps as ``self.stats``; the runtime shows them in
``/_node/stats`` (plugin ``stats``) and ``/metrics``."""

from __future__ import annotations

import threading
from typing import Any


class MatchCounters:
    """Matches, failures and timeouts of a matching filter (grok), like Logstash's grok metrics."""

    def __init__(self) -> None:
        self.matches = 0
        self.failures = 0
        self.timeouts = 0
        self.timeouts_by_pattern: dict[str, int] = {}
        self._lock = threading.Lock()  # workers share the filter

    def count(self, outcome: str) -> None:
        with self._lock:
            setattr(self, outcome, getattr(self, outcome) + 1)

    def add(self, matches: int = 0, failures: int = 0, timeouts: int = 0) -> None:
        """Several outcomes at once (a filter counting per batch)."""
        with self._lock:
            self.matches += matches
            self.failures += failures
            self.timeouts += timeouts

    def count_timeout(self, pattern: str) -> None:
        """One match attempt of ``pattern`` ran out of time (an event may try several patterns)."""
        with self._lock:
            self.timeouts_by_pattern[pattern] = self.timeouts_by_pattern.get(pattern, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"matches": self.matches, "failures": self.failures, "timeouts": self.timeouts,
                    "timeouts_by_pattern": dict(self.timeouts_by_pattern)}
