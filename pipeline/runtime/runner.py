"""Run one built pipeline: inputs on the event loop, a bounded queue, worker threads, outputs.

Lifecycle: register every plugin → start workers and inputs → run until every
input has finished (finite inputs) or a stop is requested → stop inputs,
drain the queue through the workers, final filter flush, flush and close the
outputs. Nothing already accepted by the queue is lost on a graceful stop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import QueueClosedError
from pipeline.event import Event
from pipeline.inputs.base import Input, InputContext
from pipeline.logs import RateLimitedLogger
from pipeline.outputs.base import Output
from pipeline.queue.acks import DeliveryTracker
from pipeline.queue.base import Queue
from pipeline.queue.memory import MemoryQueue
from pipeline.runtime import registry
from pipeline.runtime.builder import BuiltPipeline
from pipeline.runtime.state import RunnerState

log = logging.getLogger("pipeline.runtime")
INPUT_RESTART_DELAY = 1.0
OUTPUT_RETRY_MAX_DELAY = 30.0


@dataclass(frozen=True)
class RunSettings:
    workers: int = 1
    batch_size: int = 125
    batch_delay: float = 0.05  # seconds
    queue_max_events: int = 0  # 0 = 4 × workers × batch size
    flush_interval: float = 5.0  # periodic filter flush
    input_stop_timeout: float = 10.0
    worker_type: str = "thread"  # "process": one process per worker, for CPU-bound filters
    queue_type: str = "memory"  # "persisted": events kept on disk under path.data/queue/<pipeline id>
    queue_settings: Mapping[str, Any] = field(default_factory=dict)
    log_level: str = "info"  # passed on to worker processes
    log_format: str = "plain"
    shutdown_timeout: float | None = None  # None: wait for the outputs (Logstash's default)
    unsafe_shutdown: bool = False  # Logstash's pipeline.unsafe_shutdown: give up on stalled outputs


class PipelineRunner:
    def __init__(self, built: BuiltPipeline, settings: RunSettings) -> None:
        self.built = built
        self.settings = settings
        self.queue: Queue
        if settings.queue_type == "persisted":
            from pipeline.queue.persisted import PersistedQueueSettings

            # Logstash: 0 max events means bounded by queue.max_bytes only.
            self.queue = PersistedQueueSettings.from_settings(settings.queue_settings).open(
                built.path_data, built.pipeline_id, settings.queue_max_events)
        else:
            capacity = settings.queue_max_events or 4 * max(1, settings.workers) * settings.batch_size
            self.queue = MemoryQueue(capacity)
        # Tells broker inputs when their events are safe, to commit offsets only then.
        self.acks = DeliveryTracker(durable=settings.queue_type == "persisted")
        self.stopping = threading.Event()
        self._stop_requested = threading.Event()  # request_stop(): an operator's stop, not completion
        self._workers_done = threading.Event()
        self._output_locks = {id(o): threading.Lock() for o in built.outputs if o.concurrency == "single"}
        self._workers: list[threading.Thread] = []
        self._processes: list[Any] = []  # ProcessWorker handles in process mode
        self.in_processes = settings.worker_type == "process" and built.config is not None
        self._flusher: threading.Thread | None = None
        self._filters_with_flush = [f for f in built.filters if _overrides_flush(f)]
        self._limited = RateLimitedLogger(log)
        self.registered: list[Any] = []
        self.state = RunnerState()
        #: at the first start a port that cannot be bound is fatal; a reloaded pipeline retries instead
        self.bind_failure_is_fatal = True
        self.fatal: BaseException | None = None
        #: set when the shutdown wait was given up: (final log line, events lost)
        self.abandoned: tuple[str, int] | None = None

    # -- lifecycle ----------------------------------------------------------
    def register_plugins(self) -> None:
        """Register every plugin (open files, compile patterns); close what was opened on failure."""
        # In process mode the worker processes register their own filters and outputs.
        plugins = self.built.inputs if self.in_processes else list(self.built.all_plugins())
        try:
            for plugin in plugins:
                plugin.register()
                self.registered.append(plugin)
                _expose_stats(plugin)
        except Exception:
            self.close_plugins()
            raise

    def close_plugins(self) -> None:
        for plugin in reversed(self.registered):
            try:
                plugin.close()
            except Exception:
                log.exception("closing %s %s (id=%s) failed", plugin.kind, plugin.name, plugin.id)
        self.registered.clear()

    async def run(self) -> None:
        """Run until the inputs are done or :meth:`request_stop`; then shut down gracefully."""
        try:
            self.register_plugins()
        except BaseException:
            self.queue.close()  # releases a persisted queue's directory lock
            raise
        registry.add(self.built.metrics, self)
        self._start_workers()
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(self._supervise(inp), name=f"input-{inp.id}") for inp in self.built.inputs]
        self.state.lifecycle = "running"
        log.info("pipeline %s started: %d input(s), %d filter(s), %d output(s), %d worker(s)",
                 self.built.pipeline_id, len(self.built.inputs), len(self.built.filters),
                 len(self.built.outputs), self.settings.workers)
        stop_waiter = loop.create_task(self._wait_stop())
        try:
            pending = set(tasks)
            while pending and not self.stopping.is_set():
                done, pending = await asyncio.wait(pending | {stop_waiter}, return_when=asyncio.FIRST_COMPLETED)
                pending.discard(stop_waiter)
                if stop_waiter in done:
                    break
            if not pending and not self.stopping.is_set():
                await self._deliver_queued_before_exit()
        finally:
            stop_waiter.cancel()
            await self._shutdown(tasks)
        if self.fatal is not None:
            raise self.fatal

    async def _deliver_queued_before_exit(self) -> None:
        """Every input finished on its own (finite inputs): what the queue holds, including events
        a persisted queue kept from a previous run, is delivered before the pipeline ends.
        ``queue.drain`` is only about stop requests; one arriving meanwhile still stops at once."""
        if not len(self.queue):
            return
        log.info("pipeline %s: every input finished; delivering the %d queued event(s) before exiting",
                 self.built.pipeline_id, len(self.queue))
        if self.queue.drain:
            # Closing it (the shutdown, next) hands the workers what it holds at once: no wait for a batch to
            # fill (the batch delay) nor for this loop to see it empty, ~50 ms of every finite run.
            return
        while len(self.queue) and not self.stopping.is_set():
            await asyncio.sleep(0.05)

    def request_stop(self) -> None:
        self._stop_requested.set()
        self.stopping.set()

    def _interrupt_on_stop_request(self) -> None:
        while not self._stop_requested.wait(0.5):
            if self._workers_done.is_set():
                return
        self._interrupt_filters()

    async def _wait_stop(self) -> None:
        while not self.stopping.is_set():
            await asyncio.sleep(0.1)

    async def _supervise(self, inp: Input) -> None:
        ctx = InputContext(self.queue, inp.decorator, self.stopping, asyncio.get_running_loop(),
                           inp.context.metrics, self.acks)
        # Worker processes decode what inputs read (the main process only moves bytes). A persisted
        # queue stores decoded events, so there the input decodes as usual.
        ctx.defer_decoding = self.in_processes and self.settings.queue_type != "persisted"
        while not self.stopping.is_set():
            try:
                await inp.run(ctx)
                if inp.finite:
                    return
                if not self.stopping.is_set():
                    log.warning("input %s (id=%s) returned; restarting it", inp.name, inp.id)
            except QueueClosedError:
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                from pipeline.runtime import binding

                if binding.is_bind_error(exc):
                    if not await binding.handle(self, inp, exc):
                        return
                    continue
                log.error("input %s (id=%s) crashed: %s: %s; restarting in %.0fs", inp.name, inp.id,
                          type(exc).__name__, exc, INPUT_RESTART_DELAY, exc_info=True)
            await asyncio.sleep(INPUT_RESTART_DELAY)

    async def _shutdown(self, tasks: list[asyncio.Task[None]]) -> None:
        # A stop request (now or while the last batches run), not inputs that finished on their own,
        # interrupts filters stuck on one event.
        threading.Thread(target=self._interrupt_on_stop_request, daemon=True,
                         name=f"[{self.built.pipeline_id}]>interrupter").start()
        self.stopping.set()
        for inp in self.built.inputs:
            try:
                inp.stop()
            except Exception:
                log.exception("stopping input %s failed", inp.id)
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=self.settings.input_stop_timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2)
        self.queue.close()
        from pipeline.runtime import shutdown

        await shutdown.wait_for_workers(self)
        if self.abandoned is not None:  # outputs stuck: do not flush or close them (that would block too)
            registry.remove(self.built.pipeline_id, self)
            self.state.lifecycle = "terminated"
            return
        if self.in_processes:
            await asyncio.get_running_loop().run_in_executor(None, self._stop_processes)
        else:
            self.finish_outputs()
        self.close_plugins()
        registry.remove(self.built.pipeline_id, self)
        self.state.lifecycle = "finished" if self.fatal is None else "terminated"
        m = self.built.metrics
        log.info("pipeline %s stopped: %d accepted, %d in, %d filtered, %d out", self.built.pipeline_id,
                 self.queue.accepted, m.events_in, m.events_filtered, m.events_out)

    def _interrupt_filters(self) -> None:
        """A stop was requested: filters that can be stuck on one event (grok's timeout) give up on it."""
        for flt in self.built.filters:
            interrupt = getattr(flt, "interrupt", None)
            if callable(interrupt):
                try:
                    interrupt()
                except Exception:
                    log.exception("interrupting filter %s failed", flt.id)

    # -- workers ------------------------------------------------------------
    def _start_workers(self) -> None:
        count = max(1, self.settings.workers)
        if self.in_processes:
            from pipeline.runtime.procworkers import ProcessWorker

            assert self.built.config is not None
            modules = tuple({type(plugin).__module__ for plugin in (*self.built.filters, *self.built.outputs)})
            self._processes = [
                ProcessWorker(number, self.built.config, self.built.pipeline_id, self.built.path_data,
                              self.built.metrics, self.settings.log_level, self.settings.log_format,
                              self.settings.flush_interval, modules)
                for number in range(count)
            ]
            for worker in self._processes:
                worker.start()
            for worker in self._processes:
                worker.wait_ready()
        for number in range(count):
            thread = threading.Thread(target=self._work, args=(number,), daemon=True,
                                      name=f"[{self.built.pipeline_id}]>worker{number}")
            thread.start()
            self._workers.append(thread)
        if not self.in_processes:
            self.start_flusher()

    def start_flusher(self) -> None:
        """Periodically flush filters that hold events back (throttle, aggregate)."""
        if self._filters_with_flush:
            self._flusher = threading.Thread(target=self._periodic_flush, daemon=True,
                                             name=f"[{self.built.pipeline_id}]>flusher")
            self._flusher.start()

    def finish_outputs(self) -> None:
        """Final filter flush, then flush every output (plugins are closed afterwards)."""
        self._final_flush()
        for output in self.built.outputs:
            try:
                output.flush()
            except Exception:
                log.exception("flushing output %s failed", output.id)
        self.close_plugins()

    def _stop_processes(self) -> None:
        # Every worker process closes its outputs (final commits, checkpoints) at the same time.
        for worker in self._processes:
            worker.request_stop()
        for worker in self._processes:
            worker.wait_stopped()

    def _join_workers(self) -> None:
        for thread in self._workers:
            thread.join()
        self._workers_done.set()

    def _work(self, number: int = 0) -> None:
        size, delay = self.settings.batch_size, self.settings.batch_delay
        if self.in_processes:
            self._processes[number].serve(self.queue, size, delay,
                                          lambda held: self.state.batch_started(number, held),
                                          lambda batch: self._finished(number, batch))
            return
        handle = self.process
        while True:
            batch = self.queue.get_batch(size, delay)
            if batch is None:
                return
            if batch:
                self.state.batch_started(number, len(batch))
                handle(batch)
                self.queue.ack(batch)
                self.acks.settle(batch)
                self.state.batch_done(number)

    def _finished(self, number: int, batch: list[Event]) -> None:
        """A worker process answered for this batch: the queue may drop it, its inputs may ack it."""
        self.queue.ack(batch)
        self.acks.settle(batch)
        if not self._processes[number].busy:
            self.state.batch_done(number)

    def process(self, batch: list[Event]) -> None:
        """Filters, then outputs, for one batch (also used by tests and the final flush)."""
        built = self.built
        events = built.run_filters(batch)
        self._deliver(events)
        built.metrics.add(events_in=len(batch), events_filtered=len(events))

    def _deliver(self, events: list[Event]) -> None:
        built = self.built
        sinks: list[list[Event]] = [[] for _ in built.outputs]
        built.route(events, sinks)
        delivered = 0
        for output, chosen in zip(built.outputs, sinks, strict=True):
            if chosen:
                self._send(output, chosen)
                delivered += len(chosen)
        built.metrics.add(events_out=delivered)

    def _send(self, output: Output, events: list[Event]) -> None:
        lock = self._output_locks.get(id(output))
        counters = output.context.metrics
        state = self.state.output(output.id)
        state.begin(len(events))
        started = time.perf_counter()
        attempt = 0
        while True:
            try:
                if lock is None:
                    output.receive(events)
                else:
                    with lock:
                        output.receive(events)
                state.end(len(events), delivered=True)
                break
            except Exception as exc:  # noqa: BLE001 - retried, then isolated; never dropped silently
                attempt += 1
                state.failed_attempt()
                if attempt >= 3:
                    state.end(len(events), delivered=False)
                self._limited.error(f"output:{output.id}", "output %s (id=%s) failed on a batch of %d: %s: %s",
                                    output.name, output.id, len(events), type(exc).__name__, exc)
                if attempt >= 3:
                    self._isolate(output, events)
                    break
                time.sleep(min(OUTPUT_RETRY_MAX_DELAY, 0.1 * 2 ** attempt))
        if counters is not None:
            counters.add(len(events), len(events), 0, (time.perf_counter() - started) * 1000)

    def _isolate(self, output: Output, events: list[Event]) -> None:
        """Send events one at a time; an event that still fails is rejected visibly, with its content."""
        from pipeline import serde

        for event in events:
            try:
                output.receive([event])
            except Exception as exc:  # noqa: BLE001
                self.built.metrics.add(output_rejected=1)
                if output.context.metrics is not None:
                    output.context.metrics.add(failures=1)
                log.error("output %s (id=%s) rejected an event after retries (%s: %s); event: %s",
                          output.name, output.id, type(exc).__name__, exc,
                          serde.event_json(event).decode("utf-8", "replace")[:2000])

    def _periodic_flush(self) -> None:
        while not self.stopping.wait(self.settings.flush_interval):
            self._flush_filters(final=False)

    def _flush_filters(self, final: bool) -> None:
        for flt in self._filters_with_flush:
            try:
                flushed = list(flt.flush(final=final) or ())
            except Exception:
                log.exception("flush of filter %s failed", flt.id)
                continue
            if flushed:
                self._deliver(flushed)

    def _final_flush(self) -> None:
        if self._flusher is not None:
            self._flusher.join(timeout=self.settings.flush_interval + 1)
        self._flush_filters(final=True)


def _expose_stats(plugin: Any) -> None:
    """Plugins keeping their own counters as ``self.stats`` (with snapshot() or as_dict()) show them in the API."""
    stats, metrics = getattr(plugin, "stats", None), getattr(plugin.context, "metrics", None)
    if stats is None or metrics is None:
        return
    reader = getattr(stats, "snapshot", None) or getattr(stats, "as_dict", None)
    if callable(reader):
        metrics.extra = reader


def _overrides_flush(flt: Any) -> bool:
    from pipeline.filters.base import Filter

    return type(flt).flush is not Filter.flush

