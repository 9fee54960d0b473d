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
    """One line for every running pipeline; ``previous`` keeps in/out totals (and bytes read) between calls."""
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
        read = read_progress(runner.built.inputs, previous, pipeline_id, elapsed)
        pieces.append(f"{text} {read}" if read else text)
    return " | ".join(pieces) or "starting…"


def read_progress(inputs: list[object], previous: dict[str, tuple[int, int]], key: str, elapsed: float) -> str:
    """``read 12.0 of 80.0 MB (15%), ETA 42s`` for inputs reading finite files (the file input in read mode)."""
    done = total = 0
    for plugin in inputs:
        progress = getattr(plugin, "progress", None)
        got = progress() if callable(progress) else None
        if got is not None:
            done, total = done + got[0], total + got[1]
    if not total:
        return ""
    before = previous.get(f"{key}/bytes", (done, 0))[0]
    previous[f"{key}/bytes"] = (done, 0)
    rate = (done - before) / max(elapsed, 1e-6)
    eta = f", ETA {_duration((total - done) / rate)}" if rate > 0 and done < total else ""
    return f"read {done / 1e6:,.1f} of {total / 1e6:,.1f} MB ({100 * done / total:.0f}%){eta}"


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


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
