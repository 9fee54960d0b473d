"""Queue throughput: put + get_batch + ack, events/s, memory queue vs persisted queue settings.

    python bench/queue_bench.py                      # every scenario, 200k events each
    python bench/queue_bench.py --events 500000 --scenario persisted-default
    python bench/queue_bench.py --runner            # the whole runner on each queue

A producer thread puts batches (``--put-batch``, like an input's window), a
worker thread takes batches of ``--batch`` and acknowledges them, as the
runner does (no filters, no outputs: the queue alone). Events are shaped like
a Filebeat line after the beats input (~400 bytes pickled). Reports wall-clock
events/s and CPU microseconds per event (process CPU time, both threads),
which is steadier than wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.event import Event
from pipeline.queue.memory import MemoryQueue
from pipeline.queue.persisted import PersistedQueue


def make_events(count: int, offset: int) -> list[Event]:
    return [Event({
        "message": f"2026-11-21T05:16:26.123Z INFO request {offset + i} served in 12ms path=/api/v1/items",
        "host": {"name": "web-01"},
        "log": {"file": {"path": "/var/log/app.log"}, "offset": (offset + i) * 90},
        "agent": {"type": "filebeat", "version": "8.11.0"}, "tags": ["beats_input_codec_plain_applied"],
        "@metadata": {"beat": "filebeat", "version": "8.11.0"},
    }) for i in range(count)]


SCENARIOS: dict[str, Callable[[Path, int], Any]] = {
    "memory": lambda d, cap: MemoryQueue(cap),
    "persisted-default": lambda d, cap: PersistedQueue(d, cap),
    "persisted-fsync-every-put": lambda d, cap: PersistedQueue(d, cap, checkpoint_writes=1),
    "persisted-from-disk": lambda d, cap: PersistedQueue(d, cap, memory_events=0),
}


def run(queue: Any, total: int, put_batch: int, batch: int, use_async: bool) -> tuple[float, float]:
    # Built before timing; a few windows put over and over keep the heap (and so GC passes) small,
    # as in a running pipeline where events come and go.
    distinct = [make_events(put_batch, n * put_batch) for n in range(8)]
    windows = [distinct[n % len(distinct)] for n in range(total // put_batch)]
    received = 0

    def work() -> None:
        nonlocal received
        while (got := queue.get_batch(batch, 0.005)) is not None:
            received += len(got)
            queue.ack(got)

    def produce() -> None:
        if use_async:
            async def main() -> None:
                for window in windows:
                    await queue.put(window)
            asyncio.run(main())
        else:
            for window in windows:
                queue.put_blocking(window)
        queue.close()

    worker = threading.Thread(target=work)
    producer = threading.Thread(target=produce)
    wall, cpu = time.perf_counter(), time.process_time()
    worker.start()
    producer.start()
    producer.join()
    worker.join()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert received == len(windows) * put_batch, f"received {received}"
    return wall, cpu


RUNNER_CONFIG = """
input { generator { count => %d lines => ["2026-11-21T05:16:26.123Z INFO served in 12ms path=/api/v1/items"] } }
filter { mutate { add_field => { "[service][name]" => "api" } } }
output { null {} }
"""


def run_pipeline(kind: str, total: int, directory: Path) -> tuple[float, float]:
    """The real runner (generator → mutate → null, defaults) on a memory or a persisted queue."""
    from pipeline.config.loader import parse_text
    from pipeline.runtime.builder import build_pipeline
    from pipeline.runtime.runner import PipelineRunner, RunSettings

    config = parse_text(RUNNER_CONFIG % total, "<bench>")
    built = build_pipeline(config, "main", directory, require_inputs=True)
    runner = PipelineRunner(built, RunSettings(workers=1))
    if kind == "persisted":
        runner.queue = PersistedQueue(directory / "queue" / "main", runner.queue.capacity)
    wall, cpu = time.perf_counter(), time.process_time()
    asyncio.run(runner.run())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert built.metrics.events_out == total, built.metrics.events_out
    return wall, cpu


def report(name: str, events: int, wall: float, cpu: float) -> None:
    print(f"{name:28s} {events / wall:>10,.0f} events/s  {cpu / events * 1e6:6.2f} µs CPU/event")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--put-batch", type=int, default=125)
    parser.add_argument("--batch", type=int, default=125, help="pipeline.batch.size")
    parser.add_argument("--capacity", type=int, default=1000, help="queue capacity in events")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), action="append")
    parser.add_argument("--async-put", action="store_true",
                        help="put from an event loop, as network inputs do")
    parser.add_argument("--dir", type=Path, help="where queue files go (default: a temporary directory)")
    parser.add_argument("--runner", action="store_true",
                        help="whole pipeline (generator → mutate → null) on memory vs persisted queue")
    args = parser.parse_args()
    if args.runner:
        print(f"{args.events} events through the real runner, 1 worker, load {os.getloadavg()[0]:.1f}")
        for kind in ("memory", "persisted"):
            directory = Path(tempfile.mkdtemp(prefix="queue-bench-", dir=args.dir))
            try:
                wall, cpu = run_pipeline(kind, args.events, directory)
            finally:
                shutil.rmtree(directory, ignore_errors=True)
            report(kind, args.events, wall, cpu)
        return
    print(f"{args.events} events, put batches of {args.put_batch}, worker batches of {args.batch}, "
          f"capacity {args.capacity}, {'async put' if args.async_put else 'put_blocking'}, "
          f"load {os.getloadavg()[0]:.1f}")
    for name in args.scenario or list(SCENARIOS):
        directory = Path(tempfile.mkdtemp(prefix="queue-bench-", dir=args.dir))
        try:
            queue = SCENARIOS[name](directory / "queue", args.capacity)
            wall, cpu = run(queue, args.events, args.put_batch, args.batch, args.async_put)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        report(name, args.events, wall, cpu)


if __name__ == "__main__":
    main()
