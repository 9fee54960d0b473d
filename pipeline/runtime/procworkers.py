"""Worker processes, for pipelines whose filters need more than one core (``pipeline.worker_type: process``).

Python threads share one core for CPU-bound filters such as grok; worker
processes do not. The main process keeps the inputs and the queue; each worker
process builds its own filters and outputs from the same parsed config, takes
one batch at a time over a pipe, runs filters and outputs, and answers with its
counters. The batch is acknowledged to the queue only after that answer, so a
worker process that dies is restarted and its batch sent again (at least once).
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import multiprocessing.connection
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.config.ast import PipelineConfig
from pipeline.event import Event
from pipeline.queue.weight import batch_weight
from pipeline.runtime.metrics import PipelineMetrics
from pipeline.runtime.rawevents import pack, unpack
from pipeline.runtime.workerstart import worker_context

log = logging.getLogger("pipeline.runtime")
MAX_BATCH_ATTEMPTS = 3
#: batches handed to one worker process at once: one running, the next waiting in the pipe
IN_FLIGHT = 2
#: batches of pipeline.batch.size taken from the queue and sent to a worker process in one message
TRANSFER_BATCHES = 4
#: at most this long between the counters a busy worker process sends back (building, pickling and
#: accounting them once per batch cost both processes CPU for every batch)
SNAPSHOT_INTERVAL = 0.5
_COUNTERS = ("events_in", "events_filtered", "events_out", "condition_type_errors", "output_rejected")


def _snapshot(metrics: PipelineMetrics) -> dict[str, Any]:
    return {
        "pipeline": {name: getattr(metrics, name) for name in _COUNTERS},
        "plugins": {pid: (m.kind, m.name, m.events_in, m.events_out, m.failures, m.duration_ms)
                    for pid, m in metrics.plugins.items()},
    }


def _child_main(conn: multiprocessing.connection.Connection, config: PipelineConfig, pipeline_id: str,
                path_data: str, log_level: str, log_format: str, flush_interval: float, number: int) -> None:
    """Body of a worker process: build filters and outputs, then serve batches until told to stop."""
    from pipeline import logs
    from pipeline.runtime.builder import build_pipeline
    from pipeline.runtime.runner import PipelineRunner, RunSettings

    logs.configure(log_level, log_format)
    try:
        from pipeline.runtime.agent import tune_gc

        tune_gc()
        config.inputs = []  # inputs live in the main process
        built = build_pipeline(config, pipeline_id, Path(path_data), require_inputs=False, worker_process=number)
        runner = PipelineRunner(built, RunSettings(workers=0, flush_interval=flush_interval))
        runner.register_plugins()
        runner.start_flusher()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the start
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    lock = threading.Lock()  # the flusher thread and batches share the outputs
    clock = _Clock()
    waiting = False  # a next message is in the pipe already
    reported = time.monotonic()
    while True:
        try:
            if not waiting and not conn.poll(0):
                clock.wait_starts()
                conn.poll(None)
                clock.wait_ends()
            message, payload = conn.recv()
        except (EOFError, OSError):
            message, payload = "stop", None  # the parent is gone: flush and leave
        if message == "batch":
            events, size = unpack(payload[0]), payload[1]
            with lock:  # filters and outputs see batches of pipeline.batch.size, however many came at once
                for start in range(0, len(events), size):
                    runner.process(events[start:start + size])
            clock.batches += 1
            # Counters go back with the answer only when this worker is about to wait (so they are
            # current whenever it is idle) or every SNAPSHOT_INTERVAL while batches keep coming.
            waiting = conn.poll(0)
            now = time.monotonic()
            if not waiting or now - reported >= SNAPSHOT_INTERVAL:
                reported = now
                conn.send(("done", _snapshot(built.metrics)))
            else:
                conn.send(("done", None))
        else:
            with lock:
                runner.stopping.set()
                runner.finish_outputs()
            log.info("%s stopped: %s", multiprocessing.current_process().name, clock.summary())
            try:
                conn.send(("stopped", _snapshot(built.metrics)))
            except (BrokenPipeError, OSError):
                pass
            return


def _describe(event: Event) -> Any:
    try:
        return event.to_dict()
    except Exception as exc:  # noqa: BLE001 - a raw event that cannot even be decoded here
        return f"<undecodable: {type(exc).__name__}: {exc}; raw {getattr(event, 'raw', None)!r:.500}>"


class _Clock:
    """Where a worker process's time went, for its last log line: much waiting for batches means the main
    process or the inputs are the limit; the rest is time waiting for a CPU, for outputs or for locks."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()
        self.waited = 0.0
        self.batches = 0
        self._since = 0.0

    def wait_starts(self) -> None:
        self._since = time.perf_counter()

    def wait_ends(self) -> None:
        self.waited += time.perf_counter() - self._since

    def summary(self) -> str:
        wall = max(1e-9, time.perf_counter() - self.started)
        cpu = time.process_time() - self.cpu_started
        return (f"{self.batches} batches in {wall:.1f}s: CPU {cpu:.1f}s ({cpu / wall:.0%}), waiting for batches "
                f"{self.waited:.1f}s ({self.waited / wall:.0%}), other (waiting for a CPU, outputs, locks) "
                f"{max(0.0, wall - cpu - self.waited):.1f}s")


class ProcessWorker:
    """The main process's handle on one worker process."""

    def __init__(self, number: int, config: PipelineConfig, pipeline_id: str, path_data: Path,
                 metrics: PipelineMetrics, log_level: str = "info", log_format: str = "plain",
                 flush_interval: float = 5.0, plugin_modules: tuple[str, ...] = ()) -> None:
        self.number = number
        self._plugin_modules = plugin_modules  # imported once by the fork server (workerstart)
        self._batch_size = 125  # pipeline.batch.size: the worker runs what it gets in batches of this size
        self._args = (config, pipeline_id, str(path_data), log_level, log_format, flush_interval, number)
        self._metrics = metrics
        self._last: dict[str, Any] = {"pipeline": {}, "plugins": {}}
        self._conn: multiprocessing.connection.Connection | None = None
        # batches sent and not answered yet, oldest first, each with its count of worker deaths
        self._in_flight: collections.deque[tuple[list[Event], list[int]]] = collections.deque()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._stop_failed = False  # the stop message could not be sent: the worker is gone

    def start(self) -> None:
        # A fork of the fork server (modules imported once), never of this process (it runs threads).
        context = worker_context(self._plugin_modules)
        parent, child = context.Pipe()
        self._process = context.Process(target=_child_main, args=(child, *self._args), daemon=True,
                                        name=f"pipeline-worker-{self.number}")
        self._process.start()
        child.close()
        self._conn = parent
        self._last = {"pipeline": {}, "plugins": {}}

    def wait_ready(self, timeout: float = 120.0) -> None:
        assert self._conn is not None
        if not self._conn.poll(timeout):
            raise RuntimeError(f"worker process {self.number} did not start within {timeout:.0f}s")
        message, payload = self._conn.recv()
        if message != "ready":
            raise RuntimeError(f"worker process {self.number} failed to start: {payload}")

    # -- serving the queue ----------------------------------------------------------------------
    def serve(self, queue: Any, size: int, delay: float, on_started: Callable[[int], None],
              on_finished: Callable[[list[Event]], None]) -> None:
        """Feed batches from ``queue`` to the worker process until the queue is closed and drained.

        While the worker runs one batch the next full batch already waits in its pipe, so it never
        idles on this thread's round trip. ``on_finished(batch)`` (ack the queue, settle deliveries)
        is called for each batch once the worker answered for it, in order; ``on_started(events)``
        says how many events the worker process holds.
        """
        in_flight = self._in_flight
        self._batch_size = size
        while True:
            if in_flight and len(queue) < size:
                # Nothing full to send ahead: wait for the worker instead of taking a partial batch.
                on_finished(self._collect())
                on_started(sum(map(batch_weight, (b for b, _ in in_flight))))
                continue
            # Up to TRANSFER_BATCHES batches per round trip: the pipe, the pickling and the answer cost
            # the main process per transfer, not per event.
            batch = queue.get_batch(size * TRANSFER_BATCHES, 0.0 if in_flight else delay)
            if batch is None:
                while in_flight:
                    on_finished(self._collect())
                return
            if batch:
                self._submit(batch)
                on_started(sum(map(batch_weight, (b for b, _ in in_flight))))
            if len(in_flight) >= IN_FLIGHT:
                on_finished(self._collect())

    @property
    def busy(self) -> bool:
        """Batches sent to the worker process and not answered yet."""
        return bool(self._in_flight)

    def process(self, batch: list[Event]) -> None:
        """One batch, waiting for the answer (tests, and callers without a queue)."""
        self._submit(batch)
        while self._in_flight:
            self._collect()

    def _submit(self, batch: list[Event]) -> None:
        self._in_flight.append((batch, [0]))
        self._send(batch)

    def _send(self, batch: list[Event]) -> None:
        assert self._conn is not None
        try:
            self._conn.send(("batch", (pack(batch), self._batch_size)))
        except (OSError, BrokenPipeError):
            pass  # the worker is gone: _collect notices (EOF) and restarts it

    def _collect(self) -> list[Event]:
        """Wait for the answer to the oldest batch in flight; restart a dead worker and send again."""
        while True:
            batch, attempts = self._in_flight[0]
            try:
                assert self._conn is not None
                _message, payload = self._conn.recv()
            except (EOFError, OSError) as exc:
                attempts[0] += 1
                if attempts[0] >= MAX_BATCH_ATTEMPTS:
                    self._in_flight.popleft()
                    self._metrics.add(output_rejected=batch_weight(batch))
                    log.error("worker process %d: a batch of %d events killed the worker %d times; the batch "
                              "is rejected (first event: %s)", self.number, batch_weight(batch), MAX_BATCH_ATTEMPTS,
                              _describe(batch[0]) if batch else None)
                    self._restart()
                    return batch
                log.error("worker process %d died (%s) while handling a batch of %d; restarting it "
                          "(attempt %d of %d)", self.number, type(exc).__name__, batch_weight(batch), attempts[0] + 1,
                          MAX_BATCH_ATTEMPTS)
                self._restart()
                continue
            self._account(payload)
            self._in_flight.popleft()
            return batch

    def _restart(self) -> None:
        """A new worker process, then every batch still in flight again, in order (at least once)."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        self.start()
        self.wait_ready()
        for batch, _attempts in self._in_flight:
            self._send(batch)

    def stop(self, timeout: float = 60.0) -> None:
        self.request_stop()
        self.wait_stopped(timeout)

    def request_stop(self) -> None:
        """Tell the worker process to flush and close its outputs (``wait_stopped`` waits for it): the
        runner tells every worker first, so they close their outputs at the same time, not in turn."""
        if self._conn is None or self._process is None:
            return
        try:
            self._conn.send(("stop", None))
        except (OSError, BrokenPipeError):
            self._stop_failed = True

    def wait_stopped(self, timeout: float = 60.0) -> None:
        if self._conn is None or self._process is None:
            return
        try:
            if self._stop_failed:
                raise BrokenPipeError
            if self._conn.poll(timeout):
                _, payload = self._conn.recv()
                self._account(payload)
        except (EOFError, OSError, BrokenPipeError):
            log.warning("worker process %d was gone at stop", self.number)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()

    def _account(self, snapshot: dict[str, Any] | None) -> None:
        """Add what changed in the worker's counters since its last report to the main metrics (None:
        an answer without counters; a worker that dies loses those it had not reported, at most
        SNAPSHOT_INTERVAL's worth)."""
        if snapshot is None:
            return
        last = self._last
        deltas = {name: value - last["pipeline"].get(name, 0) for name, value in snapshot["pipeline"].items()}
        self._metrics.add(**{k: v for k, v in deltas.items() if v})
        for pid, (kind, name, n_in, n_out, failures, duration) in snapshot["plugins"].items():
            old = last["plugins"].get(pid, (kind, name, 0, 0, 0, 0.0))
            self._metrics.plugin(pid, kind, name).add(n_in - old[2], n_out - old[3], failures - old[4],
                                                       duration - old[5])
        self._last = snapshot
