"""Shutdown while an output is down: say once what is held, wait, and give up only when told to.

Logstash waits for the outputs as long as it takes unless ``pipeline.unsafe_shutdown`` is set (its
shutdown watcher then aborts after three stalled reports of five seconds). We do the same, plus
``pipeline.shutdown_timeout`` to bound the wait. When the wait is abandoned, a persisted queue keeps
every undelivered event on disk for the next start; a memory queue loses them, and the last log
line says exactly how many.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

log = logging.getLogger("pipeline.runtime")
REPORT_AFTER = 2.0  # seconds of waiting before saying what is held
UNSAFE_SHUTDOWN_AFTER = 15.0  # Logstash: 3 stalled reports, one every 5 s


def deadline_for(settings: Any) -> float | None:
    if settings.shutdown_timeout is not None:
        return float(settings.shutdown_timeout)
    return UNSAFE_SHUTDOWN_AFTER if settings.unsafe_shutdown else None


def held(runner: Any) -> tuple[int, int, int]:
    """(events in workers, batches in workers, events still in the queue)."""
    events, batches = runner.state.held()
    return events, batches, len(runner.queue)


def stuck_outputs(runner: Any) -> list[str]:
    return [output_id for output_id, state in runner.state.outputs.items() if state.busy_since is not None]


async def wait_for_workers(runner: Any) -> None:
    """Join the workers; report once if it takes a while; abandon at the deadline (runner.abandoned)."""
    loop = asyncio.get_running_loop()
    join = loop.run_in_executor(None, runner._join_workers)
    deadline = deadline_for(runner.settings)
    started = time.monotonic()
    reported = False
    while True:
        done, _ = await asyncio.wait({join}, timeout=0.5)
        if done:
            return
        elapsed = time.monotonic() - started
        if not reported and elapsed >= REPORT_AFTER:
            reported = True
            events, batches, queued = held(runner)
            outputs = ", ".join(stuck_outputs(runner)) or "none"
            limit = f"at most {deadline:.0f}s" if deadline is not None else "until they are delivered"
            log.warning("pipeline %s is stopping but its outputs are not taking events: %d event(s) in %d "
                        "batch(es) held by workers, %d in the %s queue (outputs retrying: %s); waiting %s "
                        "(send the signal again to force exit)", runner.built.pipeline_id, events, batches,
                        queued, runner.settings.queue_type, outputs, limit)
        if deadline is not None and elapsed >= deadline:
            runner.abandoned = abandon_message(
                runner, f"shutdown timeout ({deadline:.0f}s) reached with outputs still failing")
            return


def abandon_message(runner: Any, why: str) -> tuple[str, int]:
    """The final log line for a pipeline given up on, and how many events it loses."""
    events, batches, queued = held(runner)
    total = events + queued
    pid = runner.built.pipeline_id
    if runner.settings.queue_type == "persisted":
        directory = getattr(runner.queue, "directory", "the queue directory")
        return (f"pipeline {pid}: {why}; {total} event(s) stay in the persisted queue "
                f"({directory}) and will be sent at the next start; nothing lost", 0)
    return (f"pipeline {pid}: {why}; {total} event(s) LOST ({events} in {batches} "
            f"batch(es) held by workers, {queued} in the memory queue)", total)
