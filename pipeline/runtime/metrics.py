"""Counters per pipeline and per plugin (events in/out, failures), read by logs and the stats API."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PluginMetrics:
    plugin_id: str
    kind: str
    name: str
    events_in: int = 0
    events_out: int = 0
    failures: int = 0
    duration_ms: float = 0.0
    #: plugin-specific counters (beats connections, bulk statuses ...), shown by the monitoring API
    extra: Callable[[], dict[str, Any]] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, events_in: int = 0, events_out: int = 0, failures: int = 0, duration_ms: float = 0.0) -> None:
        with self._lock:
            self.events_in += events_in
            self.events_out += events_out
            self.failures += failures
            self.duration_ms += duration_ms

    def add_out(self, count: int) -> None:
        self.add(events_out=count)

    def snapshot(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = {
            "id": self.plugin_id,
            "name": self.name,
            "events": {"in": self.events_in, "out": self.events_out,
                       "duration_in_millis": round(self.duration_ms)},
            "failures": self.failures,
        }
        if self.extra is not None:
            try:
                snapshot["stats"] = self.extra()
            except Exception as exc:  # noqa: BLE001 - metrics must never break the API
                snapshot["stats"] = {"error": str(exc)}
        return snapshot


@dataclass
class PipelineMetrics:
    pipeline_id: str
    started: float = field(default_factory=time.time)
    events_in: int = 0
    events_filtered: int = 0
    events_out: int = 0
    condition_type_errors: int = 0
    output_rejected: int = 0
    plugins: dict[str, PluginMetrics] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def plugin(self, plugin_id: str, kind: str, name: str) -> PluginMetrics:
        metrics = self.plugins.get(plugin_id)
        if metrics is None:
            metrics = self.plugins[plugin_id] = PluginMetrics(plugin_id, kind, name)
        return metrics

    def add(self, **counts: int) -> None:
        with self._lock:
            for key, value in counts.items():
                setattr(self, key, getattr(self, key) + value)

    def type_error(self) -> None:
        self.add(condition_type_errors=1)

    def snapshot(self) -> dict[str, Any]:
        by_kind: dict[str, list[dict[str, Any]]] = {"inputs": [], "filters": [], "outputs": []}
        for metrics in self.plugins.values():
            by_kind.setdefault(metrics.kind + "s", []).append(metrics.snapshot())
        return {
            "id": self.pipeline_id,
            "events": {"in": self.events_in, "filtered": self.events_filtered, "out": self.events_out},
            "condition_type_errors": self.condition_type_errors,
            "output_rejected": self.output_rejected,
            "uptime_in_millis": round((time.time() - self.started) * 1000),
            "plugins": by_kind,
        }
