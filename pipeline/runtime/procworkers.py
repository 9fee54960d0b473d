"""Worker processes, for pipelines whose filters need more than one core (``pipeline.worker_type: process``).

Python threads share one core for CPU-bound filters such as grok; worker
processes do not. The main process keeps the inputs and the queue; each worker
process builds its own filters and outputs from the same parsed config, takes
one batch at a time over a pipe, runs filters and outputs, and answers with its
counters. The batch is acknowledged to the queue only after that answer, so a
worker process that dies is restarted and its batch sent again (at least once).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import threading
from pathlib import Path
from typing import Any

from pipeline.config.ast import PipelineConfig
from pipeline.event import Event
from pipeline.runtime.metrics import PipelineMetrics

log = logging.getLogger("pipeline.runtime")
MAX_BATCH_ATTEMPTS = 3
_COUNTERS = ("events_in", "events_filtered", "events_out", "condition_type_errors", "output_rejected")


def _snapshot(metrics: PipelineMetrics) -> dict[str, Any]:
    return {
        "pipeline": {name: getattr(metrics, name) for name in _COUNTERS},
        "plugins": {pid: (m.kind, m.name, m.events_in, m.events_out, m.failures, m.duration_ms)
                    for pid, m in metrics.plugins.items()},
    }


def _child_main(conn: multiprocessing.connection.Connection, config: PipelineConfig, pipeline_id: str,
                path_data: str, log_level: str, log_format: str, flush_interval: float) -> None:
    """Body of a worker process: build filters and outputs, then serve batches until told to stop."""
    from pipeline import logs
    from pipeline.runtime.builder import build_pipeline
    from pipeline.runtime.runner import PipelineRunner, RunSettings

    logs.configure(log_level, log_format)
    try:
        from pipeline.runtime.agent import tune_gc

        tune_gc()
        config.inputs = []  # inputs live in the main process
        built = build_pipeline(config, pipeline_id, Path(path_data), require_inputs=False)
        runner = PipelineRunner(built, RunSettings(workers=0, flush_interval=flush_interval))
        runner.register_plugins()
        runner.start_flusher()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the start
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    lock = threading.Lock()  # the flusher thread and batches share the outputs
    while True:
        try:
            message, payload = conn.recv()
        except (EOFError, OSError):
            message, payload = "stop", None  # the parent is gone: flush and leave
        if message == "batch":
            with lock:
                runner.process(payload)
            conn.send(("done", _snapshot(built.metrics)))
        else:
            with lock:
                runner.stopping.set()
                runner.finish_outputs()
            try:
                conn.send(("stopped", _snapshot(built.metrics)))
            except (BrokenPipeError, OSError):
                pass
            return


class ProcessWorker:
    """The main process's handle on one worker process."""

    def __init__(self, number: int, config: PipelineConfig, pipeline_id: str, path_data: Path,
                 metrics: PipelineMetrics, log_level: str = "info", log_format: str = "plain",
                 flush_interval: float = 5.0) -> None:
        self.number = number
        self._args = (config, pipeline_id, str(path_data), log_level, log_format, flush_interval)
        self._metrics = metrics
        self._last: dict[str, Any] = {"pipeline": {}, "plugins": {}}
        self._conn: multiprocessing.connection.Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that runs threads
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

    def process(self, batch: list[Event]) -> None:
        for attempt in range(1, MAX_BATCH_ATTEMPTS + 1):
            try:
                assert self._conn is not None
                self._conn.send(("batch", batch))
                message, payload = self._conn.recv()
                self._account(payload)
                return
            except (EOFError, OSError, BrokenPipeError) as exc:
                log.error("worker process %d died (%s) while handling a batch of %d; restarting it "
                          "(attempt %d of %d)", self.number, type(exc).__name__, len(batch), attempt,
                          MAX_BATCH_ATTEMPTS)
                self._restart()
        self._metrics.add(output_rejected=len(batch))
        log.error("worker process %d: a batch of %d events killed the worker %d times; the batch is "
                  "rejected (first event: %s)", self.number, len(batch), MAX_BATCH_ATTEMPTS,
                  batch[0].to_dict() if batch else None)

    def _restart(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        self.start()
        self.wait_ready()

    def stop(self, timeout: float = 60.0) -> None:
        if self._conn is None or self._process is None:
            return
        try:
            self._conn.send(("stop", None))
            if self._conn.poll(timeout):
                _, payload = self._conn.recv()
                self._account(payload)
        except (EOFError, OSError, BrokenPipeError):
            log.warning("worker process %d was gone at stop", self.number)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()

    def _account(self, snapshot: dict[str, Any]) -> None:
        """Add what changed in the worker's counters since its last answer to the main metrics."""
        last = self._last
        deltas = {name: value - last["pipeline"].get(name, 0) for name, value in snapshot["pipeline"].items()}
        self._metrics.add(**{k: v for k, v in deltas.items() if v})
        for pid, (kind, name, n_in, n_out, failures, duration) in snapshot["plugins"].items():
            old = last["plugins"].get(pid, (kind, name, 0, 0, 0, 0.0))
            self._metrics.plugin(pid, kind, name).add(n_in - old[2], n_out - old[3], failures - old[4],
                                                       duration - old[5])
        self._last = snapshot
