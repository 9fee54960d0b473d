"""One feeder thread for every worker process: each event delivered once, answers in order per worker,
work shared between the workers, exact counters at stop."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

from pipeline.config.loader import parse_text
from pipeline.event import Event
from pipeline.queue.memory import MemoryQueue
from pipeline.runtime.metrics import PipelineMetrics
from pipeline.runtime.procfeeder import feed
from pipeline.runtime.procworkers import ProcessWorker


def _workers(tmp_path: Path, count: int, metrics: PipelineMetrics) -> list[ProcessWorker]:
    out = tmp_path / "out.jsonl"
    config = parse_text(f'filter {{ mutate {{ add_field => {{ "seen" => "yes" }} }} }} '
                        f'output {{ file {{ path => "{out}" codec => json_lines }} }}')
    workers = [ProcessWorker(n, config, "main", tmp_path / "data", metrics) for n in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.wait_ready()
    return workers


def test_one_feeder_delivers_every_event_once_across_workers_with_exact_counters(tmp_path):
    metrics = PipelineMetrics("main")
    workers = _workers(tmp_path, 2, metrics)
    queue = MemoryQueue(10_000)
    total = 3_000
    finished: dict[int, list[int]] = {0: [], 1: []}
    started: list[tuple[int, int]] = []

    def produce() -> None:
        async def put_all() -> None:
            for start in range(0, total, 70):  # pushes of 70: batches are cut from several pushes
                await queue.put([Event({"message": str(n), "n": n}) for n in range(start, min(total, start + 70))])

        asyncio.run(put_all())
        queue.close()

    producer = threading.Thread(target=produce)
    producer.start()
    feed(workers, queue, 50, 0.01, lambda number, held: started.append((number, held)),
         lambda number, batch: finished[number].extend(e.get("n") for e in batch))
    producer.join()
    for worker in workers:
        assert not worker.busy
        worker.stop()

    answered = finished[0] + finished[1]
    assert sorted(answered) == list(range(total))  # each event answered for exactly once
    assert finished[0] and finished[1]  # both workers were given work
    for numbers in finished.values():  # a worker's answers come back in the order it was sent them
        assert numbers == sorted(numbers)
    assert all(held > 0 for _, held in started)
    assert metrics.events_in == metrics.events_out == total  # counters exact at stop
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["n"] for line in lines) == list(range(total))
    assert all(json.loads(line)["seen"] == "yes" for line in lines)


def test_one_feeder_returns_at_once_for_a_closed_empty_queue(tmp_path):
    metrics = PipelineMetrics("main")
    workers = _workers(tmp_path, 2, metrics)
    queue = MemoryQueue(10)
    queue.close()
    calls: list[int] = []
    feed(workers, queue, 50, 0.01, lambda number, held: calls.append(number),
         lambda number, batch: calls.append(number))
    for worker in workers:
        worker.stop()
    assert calls == []
    assert metrics.events_in == 0
