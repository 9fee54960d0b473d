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
        self._lock = threading.Lock()  # workers share the filter

    def count(self, outcome: str) -> None:
        with self._lock:
            setattr(self, outcome, getattr(self, outcome) + 1)

    def snapshot(self) -> dict[str, Any]:
        return {"matches": self.matches, "failures": self.failures, "timeouts": self.timeouts}
