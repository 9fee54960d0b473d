"""A one-line live status on the terminal for ``pipeline run``: rates, queue and health per pipeline.

Rewritten in place every second with a carriage return; ``--no-status`` or a non-terminal stderr
turns it off. Log lines written meanwhile simply scroll above it.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from pipeline.runtime import registry


def describe(previous: dict[str, tuple[int, int]], elapsed: float) -> str:
    """One line for every running pipeline; ``previous`` keeps in/out totals between calls."""
    from pipeline.monitoring import health

    pieces = []
    for pipeline_id, runner in registry.runners().items():
        m = runner.built.metrics
        before = previous.get(pipeline_id, (m.events_in, m.events_out))
        rate_in = (m.events_in - before[0]) / max(elapsed, 1e-6)
        rate_out = (m.events_out - before[1]) / max(elapsed, 1e-6)
        previous[pipeline_id] = (m.events_in, m.events_out)
        report = health.pipeline_health(runner)
        queue = f"{len(runner.queue)}/{runner.queue.capacity or '∞'}"
        text = f"{pipeline_id}: in {rate_in:,.0f}/s out {rate_out:,.0f}/s queue {queue} {report['status']}"
        pieces.append(text)
    return " | ".join(pieces) or "starting…"


class StatusLine:
    def __init__(self, stream: TextIO, interval: float = 1.0) -> None:
        self.stream = stream
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="status-line", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.stream.write("\r\x1b[K")
        self.stream.flush()

    def _loop(self) -> None:
        previous: dict[str, tuple[int, int]] = {}
        last = time.monotonic()
        while not self._stop.wait(self.interval):
            now = time.monotonic()
            try:
                line = describe(previous, now - last)
            except Exception as exc:  # noqa: BLE001
                line = f"status unavailable: {exc}"
            last = now
            self.stream.write("\r\x1b[K" + line[:200])
            self.stream.flush()
