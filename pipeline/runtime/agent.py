"""Run one or several pipelines in one process, reload them, stop them.

SIGINT/SIGTERM stop gracefully (a second one forces exit, saying what is lost); SIGHUP reloads
(POSIX only: Windows has no SIGHUP, use ``-r`` there). With ``config.reload.automatic`` the config is
checked every ``config.reload.interval`` and changed pipelines are swapped (see reload.py).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline import sdnotify
from pipeline.errors import ConfigErrors, PipelineError
from pipeline.runtime import reload, shutdown
from pipeline.runtime.builder import BuiltPipeline, build_pipeline
from pipeline.runtime.runner import PipelineRunner, RunSettings
from pipeline.settings import Settings

log = logging.getLogger("pipeline.agent")
FORCED_EXIT_CODE = 1  # also when a shutdown timeout gave up on events of a memory queue


def tune_gc() -> None:
    """Fewer, later collections: events are short-lived dicts that reference counting frees; the
    default thresholds make the cyclic collector run every ~700 allocations (about 20% of the CPU
    time of the beats input, measured). Start-up objects are frozen out of every collection.
    Start-up garbage is young: collecting the two young generations frees it (a full collection found
    nothing more in the one-event runs measured, and cost ~7 ms of CPU at every start)."""
    gc.collect(1)
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


@dataclass
class ReloadOptions:
    args: argparse.Namespace
    automatic: bool = False
    interval: float = 3.0


@dataclass
class _Running:
    runner: PipelineRunner
    task: asyncio.Task[None]
    settings: Settings | None
    fingerprint: str


class Agent:
    def __init__(self, pipelines: Sequence[tuple[BuiltPipeline, RunSettings]],
                 settings: Sequence[Settings] | None = None, reloading: ReloadOptions | None = None) -> None:
        self.runners = [PipelineRunner(built, run) for built, run in pipelines]
        self._settings = list(settings) if settings is not None else [None] * len(self.runners)
        self.reloading = reloading
        self._signals = 0
        self._stopping = False
        self._reload_requested: asyncio.Event | None = None  # created in run(), on the loop
        self._running: dict[str, _Running] = {}
        self.failures: list[BaseException] = []
        self.alive = threading.Event()

    # -- signals --------------------------------------------------------------
    def stop(self) -> None:
        self._stopping = True
        sdnotify.stopping("stopping pipelines")
        for runner in self.runners:
            runner.request_stop()
        for entry in self._running.values():
            entry.runner.request_stop()
        if self._reload_requested is not None:
            self._reload_requested.set()  # wake the loop

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("received %s: stopping gracefully (send it again to force exit)", signal.Signals(signum).name)
            self.stop()
        else:
            self._force_exit(f"received {signal.Signals(signum).name} again: forcing exit")

    def _force_exit(self, why: str) -> None:
        for entry in self._running.values():
            line, count = shutdown.abandon_message(entry.runner, why)
            (log.error if count else log.warning)("%s", line)
        logging.shutdown()
        os._exit(FORCED_EXIT_CODE)

    def request_reload(self) -> None:
        if self._reload_requested is not None:
            log.info("received SIGHUP: reloading the configuration")
            self._reload_requested.set()

    # -- main loop ------------------------------------------------------------
    async def run(self) -> None:
        tune_gc()
        loop = asyncio.get_running_loop()
        # Blocking inputs and output retries use threads; the default pool (cores + 4) is too small.
        loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=64))
        self._reload_requested = asyncio.Event()
        self._install_signals(loop)
        for runner, settings in zip(self.runners, self._settings, strict=True):
            self._start(runner, settings)
        sdnotify.start_watchdog(self.alive)
        ready_sent = False
        next_check = time.monotonic() + (self.reloading.interval if self.reloading else 0)
        while self._running:
            self.alive.set()
            if not ready_sent and all(e.runner.state.lifecycle != "loading" for e in self._running.values()):
                ready_sent = True
                sdnotify.ready(f"{len(self._running)} pipeline(s) running")
            timeout = 0.5
            tasks = {entry.task for entry in self._running.values()}
            waiter = loop.create_task(self._reload_requested.wait())
            done, _ = await asyncio.wait(tasks | {waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            self._collect_finished()
            if self._stopping:
                # stop() set the event to wake this loop: left set, every wait returns at once and the loop
                # spins a core until the pipelines end (seconds for an input closing broker connections).
                self._reload_requested.clear()
                continue
            automatic = self.reloading is not None and self.reloading.automatic
            if self._reload_requested.is_set() or (automatic and time.monotonic() >= next_check):
                forced = self._reload_requested.is_set()
                self._reload_requested.clear()
                if self.reloading is not None:
                    await self.reload(forced)
                    next_check = time.monotonic() + self.reloading.interval
        self._finish()

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        handlers = [(signal.SIGINT, lambda: self._on_signal(signal.SIGINT)),
                    (signal.SIGTERM, lambda: self._on_signal(signal.SIGTERM))]
        sighup = getattr(signal, "SIGHUP", None)  # absent on Windows
        if sighup is not None:
            handlers.append((sighup, self._on_sighup))
        sigbreak = getattr(signal, "SIGBREAK", None)  # Windows: Ctrl+Break, what service wrappers may send
        if sigbreak is not None:
            handlers.append((sigbreak, lambda: self._on_signal(sigbreak)))
        for signum, handler in handlers:
            try:
                loop.add_signal_handler(signum, handler)
            except NotImplementedError:  # Windows' event loops: a plain handler that hands over to the loop
                try:
                    signal.signal(signum, _handing_over(loop, handler))
                except ValueError:  # not the main thread (tests)
                    pass
            except (RuntimeError, ValueError):  # not the main thread (tests)
                pass

    def _on_sighup(self) -> None:
        if self.reloading is None:
            log.warning("received SIGHUP but this process cannot reload (pipelines given in-process); ignored")
            return
        self.request_reload()

    def _start(self, runner: PipelineRunner, settings: Settings | None) -> None:
        pipeline_id = runner.built.pipeline_id
        task = asyncio.get_running_loop().create_task(runner.run(), name=f"pipeline-{pipeline_id}")
        self._running[pipeline_id] = _Running(runner, task, settings,
                                              reload.fingerprint(settings) if settings is not None else "")

    def _collect_finished(self) -> None:
        for pipeline_id, entry in list(self._running.items()):
            if entry.task.done():
                del self._running[pipeline_id]
                self._record(entry)

    def _record(self, entry: _Running) -> None:
        if entry.task.cancelled():
            return
        failure = entry.task.exception()
        if failure is not None:
            self.failures.append(failure)

    def _finish(self) -> None:
        abandoned = [r for r in self.runners if r.abandoned is not None]
        if abandoned:
            lost = 0
            for runner in abandoned:
                assert runner.abandoned is not None
                line, count = runner.abandoned
                lost += count
                (log.error if count else log.warning)("%s", line)
            logging.shutdown()
            sys.stdout.flush()
            os._exit(FORCED_EXIT_CODE if lost else 0)  # stuck output threads must not hold up the exit
        if self.failures:
            raise self.failures[0]

    # -- reload ---------------------------------------------------------------
    async def reload(self, forced: bool) -> None:
        assert self.reloading is not None
        try:
            wanted = reload.resolve_again(self.reloading.args)
        except ConfigErrors as exc:
            lines = reload.log_errors("(all)", exc)
            for entry in self._running.values():
                entry.runner.state.reloads.failure("the settings could not be read", lines)
            return
        sdnotify.reloading()
        changed = 0
        wanted_ids = {s.pipeline_id for s in wanted}
        for settings in wanted:
            old = self._running.get(settings.pipeline_id)
            print_fp = reload.fingerprint(settings)
            if old is not None and old.fingerprint == print_fp:
                continue
            changed += 1
            await self._replace(settings, print_fp, old)
        for pipeline_id in [p for p in self._running if p not in wanted_ids]:
            entry = self._running[pipeline_id]
            log.info("pipeline %s is no longer configured: stopping it", pipeline_id)
            entry.runner.request_stop()
            await asyncio.wait({entry.task})
            self._collect_finished()
        if forced and not changed:
            log.info("reload: no pipeline changed")
        sdnotify.ready(f"{len(self._running)} pipeline(s) running")

    async def _replace(self, settings: Settings, print_fp: str, old: _Running | None) -> None:
        pipeline_id = settings.pipeline_id
        try:
            built = reload.build_one(settings)
            why_not = reload.reloadable(built) if old is not None else None
        except ConfigErrors as exc:
            lines = reload.log_errors(pipeline_id, exc)
            if old is not None:
                old.runner.state.reloads.failure(f"{len(lines)} configuration error(s)", lines)
                old.fingerprint = print_fp  # logged once; the next change is tried again
            return
        if why_not is not None:
            log.error("reload of pipeline %s refused: %s; the running pipeline is kept", pipeline_id, why_not)
            assert old is not None
            old.runner.state.reloads.failure(why_not, [])
            old.fingerprint = print_fp
            return
        if old is not None:
            log.info("reloading pipeline %s: stopping the running one (its in-flight events finish first)",
                     pipeline_id)
            old.runner.request_stop()
            await asyncio.wait({old.task})
            self._collect_finished()
        else:
            log.info("starting new pipeline %s", pipeline_id)
        error = await self._start_new(built, reload.run_settings(settings), settings)
        if error is None:
            runner = self._running[pipeline_id].runner
            if old is not None:
                runner.state.reloads = old.runner.state.reloads
                runner.state.reloads.success()
            self._running[pipeline_id].fingerprint = print_fp
            log.info("pipeline %s reloaded", pipeline_id)
            return
        if old is None:
            log.error("new pipeline %s did not start: %s", pipeline_id, error)
            return
        # As Logstash keeps a pipeline whose replacement fails to compile, a replacement that fails to
        # start (a plugin's register, its queue) gives way to the configuration that was running.
        log.error("reload of pipeline %s failed: the new pipeline did not start: %s; going back to the "
                  "previous configuration", pipeline_id, error)
        reloads = old.runner.state.reloads
        reloads.failure(f"the new pipeline did not start: {error}", [f"{pipeline_id}: {error}"])
        restored = await self._restore(old)
        if restored is not None:
            log.error("pipeline %s could not be restored either: %s; it is stopped", pipeline_id, restored)
            self.failures.append(PipelineError(f"pipeline {pipeline_id} stopped: neither its new nor its previous "
                                               f"configuration started ({error}; {restored})"))
            return
        entry = self._running[pipeline_id]
        entry.runner.state.reloads = reloads
        entry.fingerprint = print_fp  # logged once; the next change of its files is tried again
        log.warning("pipeline %s runs its previous configuration again", pipeline_id)

    async def _start_new(self, built: BuiltPipeline, run: RunSettings, settings: Settings | None) -> str | None:
        """Start a pipeline and wait until it runs: None, or why it did not start (it is not kept)."""
        try:  # after the old one stopped: a persisted queue directory is free only then
            runner = PipelineRunner(built, run)
        except (PipelineError, OSError) as exc:
            return str(exc)
        runner.bind_failure_is_fatal = False
        self._start(runner, settings)
        task = self._running[built.pipeline_id].task
        while runner.state.lifecycle == "loading" and not task.done():
            await asyncio.sleep(0.05)
        if task.done() and not task.cancelled() and task.exception() is not None:
            del self._running[built.pipeline_id]  # its failure is the reload's, not the process's
            failure = task.exception()
            return f"{type(failure).__name__}: {failure}"
        self.runners.append(runner)
        return None

    async def _restore(self, old: _Running) -> str | None:
        """Start the configuration ``old`` ran (its parsed config, not its files, which changed)."""
        previous = old.runner.built
        if previous.config is None:
            return "its previous configuration was not kept"
        plugin_settings = dict(old.settings.plugin_settings) if old.settings is not None else {}
        try:
            built = build_pipeline(previous.config, previous.pipeline_id, previous.path_data, plugin_settings)
        except ConfigErrors as exc:
            return exc.render()
        error = await self._start_new(built, old.runner.settings, old.settings)
        if error is None and old.settings is not None:
            self._running[previous.pipeline_id].settings = old.settings
        return error


def _handing_over(loop: asyncio.AbstractEventLoop, handler: Callable[[], None]) -> Callable[[int, Any], None]:
    def on_signal(_signum: int, _frame: Any) -> None:
        loop.call_soon_threadsafe(handler)

    return on_signal


def run_agent(pipelines: Sequence[tuple[BuiltPipeline, RunSettings]],
              settings: Sequence[Settings] | None = None, reloading: ReloadOptions | None = None) -> None:
    asyncio.run(Agent(pipelines, settings, reloading).run())
