"""One thread of the main process feeds every worker process (``pipeline.worker_type: process``).

A feeder thread per worker process meant one more thread per worker taking the GIL for every transfer
and answer; with the workers busy on every core, those threads ran on cores the workers had just left
and their CPU doubled. One thread waits on all the workers' pipes at once instead and hands full
batches to the worker holding the fewest.
"""

from __future__ import annotations

import multiprocessing.connection
from collections.abc import Callable, Sequence
from typing import Any

from pipeline.event import Event
from pipeline.runtime.procworkers import IN_FLIGHT, TRANSFER_BATCHES, ProcessWorker


def feed(workers: Sequence[ProcessWorker], queue: Any, size: int, delay: float,
         on_started: Callable[[int, int], None], on_finished: Callable[[int, list[Event]], None]) -> None:
    """Feed batches from ``queue`` to ``workers`` until the queue is closed and drained.

    Each worker holds up to IN_FLIGHT transfers (one running, the next waiting in its pipe, so it never
    idles on this thread's round trip). ``on_finished(number, batch)`` (ack the queue, settle
    deliveries) is called for each transfer once its worker answered for it, in that worker's order;
    ``on_started(number, events)`` says how many events worker ``number`` holds.
    """
    for worker in workers:
        worker.batch_size = size
    while True:
        busy = [w for w in workers if w.in_flight]
        roomy = [w for w in workers if w.in_flight < IN_FLIGHT]
        idle = [w for w in roomy if not w.in_flight]
        if roomy and (not busy or len(queue) >= size):
            # A full batch for the worker holding least (or, all idle, whatever comes within the delay):
            # up to TRANSFER_BATCHES batches per transfer, since the pipe, the pickling and the answer
            # cost the main process per transfer, not per event.
            batch = queue.get_batch(size * TRANSFER_BATCHES, 0.0 if busy else delay)
            if batch is None:
                _drain(busy, on_finished)
                return
            if batch:
                target = min(roomy, key=lambda w: w.in_flight)
                target.submit(batch)
                on_started(target.number, target.held)
            continue
        # Wait for an answer. A worker with nothing gets a partial batch if none came within the
        # delay (a slow worker must not hold back a trickle of events another one could take).
        ready = multiprocessing.connection.wait([w.conn for w in busy], delay if idle else None)
        if not ready and idle:
            batch = queue.get_batch(size * TRANSFER_BATCHES, 0.0)
            if batch is None:
                _drain(busy, on_finished)
                return
            if batch:
                idle[0].submit(batch)
                on_started(idle[0].number, idle[0].held)
            continue
        for worker in busy:
            if worker.conn in ready:
                _answered(worker, on_started, on_finished)


def _answered(worker: ProcessWorker, on_started: Callable[[int, int], None],
              on_finished: Callable[[int, list[Event]], None]) -> None:
    batch = worker.collect()
    on_finished(worker.number, batch)
    if worker.in_flight:
        on_started(worker.number, worker.held)


def _drain(busy: Sequence[ProcessWorker], on_finished: Callable[[int, list[Event]], None]) -> None:
    """The queue is closed and empty: wait for every answer still owed."""
    for worker in busy:
        while worker.in_flight:
            on_finished(worker.number, worker.collect())
