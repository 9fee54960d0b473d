"""Run one or several pipelines in one process; SIGINT/SIGTERM stop gracefully, a second one forces exit."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import os
import signal
from collections.abc import Sequence

from pipeline.runtime.builder import BuiltPipeline
from pipeline.runtime.runner import PipelineRunner, RunSettings

log = logging.getLogger("pipeline.agent")
FORCED_EXIT_CODE = 1


def tune_gc() -> None:
    """Fewer, later collections: events are short-lived dicts that reference counting frees; the
    default thresholds make the cyclic collector run every ~700 allocations (about 20% of the CPU
    time of the beats input, measured). Start-up objects are frozen out of every collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


class Agent:
    def __init__(self, pipelines: Sequence[tuple[BuiltPipeline, RunSettings]]) -> None:
        self.runners = [PipelineRunner(built, settings) for built, settings in pipelines]
        self._signals = 0

    def stop(self) -> None:
        for runner in self.runners:
            runner.request_stop()

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("received %s: stopping gracefully (send it again to force exit)", signal.Signals(signum).name)
            self.stop()
        else:
            log.warning("received %s again: forcing exit, in-flight events may be lost",
                        signal.Signals(signum).name)
            os._exit(FORCED_EXIT_CODE)

    async def run(self) -> None:
        tune_gc()
        loop = asyncio.get_running_loop()
        # Blocking inputs and output retries use threads; the default pool (cores + 4) is too small.
        loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=64))
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self._on_signal, signum)
            except (NotImplementedError, RuntimeError):  # not the main thread (tests)
                pass
        results = await asyncio.gather(*(runner.run() for runner in self.runners), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            log.error("pipeline failed: %s: %s", type(failure).__name__, failure)
        if failures:
            raise failures[0]


def run_agent(pipelines: Sequence[tuple[BuiltPipeline, RunSettings]]) -> None:
    asyncio.run(Agent(pipelines).run())
