"""What a running pipeline is doing right now, beyond counters: read by health, /metrics and `top`.

The runner updates these small records from its worker threads and input tasks; readers take
snapshots. Kept apart from the counters (metrics.py) because they describe state, not totals.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class OutputState:
    """One output: is a batch stuck in it, since when, and when did it last deliver."""

    busy_since: float | None = None  # a batch is inside receive() since then (monotonic)
    failing_since: float | None = None  # first failed attempt of the current batch (wall clock)
    last_success: float | None = None  # wall clock
    retries: int = 0
    failures: int = 0
    backlog: int = 0  # events handed to receive() and not yet delivered
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def begin(self, count: int) -> None:
        with self._lock:
            self.backlog += count
            if self.busy_since is None:
                self.busy_since = time.monotonic()

    def failed_attempt(self) -> None:
        with self._lock:
            self.retries += 1
            if self.failing_since is None:
                self.failing_since = time.time()

    def end(self, count: int, delivered: bool) -> None:
        with self._lock:
            self.backlog -= count
            if self.backlog <= 0:
                self.backlog = 0
                self.busy_since = None
            if delivered:
                self.last_success = time.time()
                self.failing_since = None
            else:
                self.failures += 1

    def snapshot(self) -> dict[str, Any]:
        now = time.time()
        return {"backlog": self.backlog, "retries": self.retries, "failures": self.failures,
                "last_success_timestamp": self.last_success,
                "failing_for_seconds": None if self.failing_since is None else round(now - self.failing_since, 1),
                "busy_for_seconds": None if self.busy_since is None
                else round(time.monotonic() - self.busy_since, 1)}


@dataclass
class InputState:
    """One input: its last start error (a port that cannot be bound), retried with backoff."""

    error: str | None = None
    error_since: float | None = None
    attempts: int = 0

    def snapshot(self) -> dict[str, Any]:
        return {"error": self.error, "error_since": self.error_since, "attempts": self.attempts}


@dataclass
class ReloadStats:
    """Logstash's per-pipeline ``reloads`` section; carried over from a pipeline to its replacement."""

    successes: int = 0
    failures: int = 0
    last_error: dict[str, Any] | None = None
    last_success_timestamp: float | None = None
    last_failure_timestamp: float | None = None

    def success(self) -> None:
        self.successes += 1
        self.last_success_timestamp = time.time()

    def failure(self, message: str, details: list[str]) -> None:
        self.failures += 1
        self.last_failure_timestamp = time.time()
        self.last_error = {"message": message, "backtrace": details}

    def snapshot(self) -> dict[str, Any]:
        return {"successes": self.successes, "failures": self.failures, "last_error": self.last_error,
                "last_success_timestamp": _iso(self.last_success_timestamp),
                "last_failure_timestamp": _iso(self.last_failure_timestamp)}


def _iso(value: float | None) -> str | None:
    if value is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(value)) + f".{int(value * 1000) % 1000:03d}Z"


@dataclass
class RunnerState:
    """Lifecycle (loading → running → finished/terminated), workers' in-flight batches, outputs, inputs."""

    lifecycle: str = "loading"
    inflight: dict[int, int] = field(default_factory=dict)  # worker number -> events in its batch
    inflight_since: dict[int, float] = field(default_factory=dict)  # worker number -> monotonic start
    outputs: dict[str, OutputState] = field(default_factory=dict)
    inputs: dict[str, InputState] = field(default_factory=dict)
    reloads: ReloadStats = field(default_factory=ReloadStats)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def output(self, output_id: str) -> OutputState:
        with self._lock:
            return self.outputs.setdefault(output_id, OutputState())

    def input(self, input_id: str) -> InputState:
        with self._lock:
            return self.inputs.setdefault(input_id, InputState())

    def batch_started(self, worker: int, size: int) -> None:
        with self._lock:
            self.inflight[worker] = size
            self.inflight_since[worker] = time.monotonic()

    def batch_done(self, worker: int) -> None:
        with self._lock:
            self.inflight.pop(worker, None)
            self.inflight_since.pop(worker, None)

    def held(self) -> tuple[int, int]:
        """(events, batches) inside the workers right now."""
        with self._lock:
            return sum(self.inflight.values()), len(self.inflight)

    def oldest_batch_seconds(self) -> float:
        with self._lock:
            starts = list(self.inflight_since.values())
        return time.monotonic() - min(starts) if starts else 0.0
