"""The dead_letter_queue input: replay with reason metadata, offsets committed, consumed segments cleaned."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from support.push_sizes import run_into_small_queue

from pipeline.errors import ConfigErrors
from pipeline.event import Event
from pipeline.inputs.base import InputContext
from pipeline.queue import MemoryQueue
from pipeline.queue.dead_letter import DeadLetterWriter, queue_dir
from pipeline.testing import build_plugin


def fill(data: Path, count: int, *, segment_bytes: int = 10 * 1024 * 1024, start: int = 0) -> None:
    writer = DeadLetterWriter(queue_dir(data, "main"), max_segment_bytes=segment_bytes)
    for n in range(start, start + count):
        writer.write(Event({"@timestamp": "2026-11-21T10:00:00Z", "n": n}), f"reason {n}",
                     plugin_type="elasticsearch", plugin_id="es1")
    writer.close()


def replay(data: Path, options: str, expected: int, timeout: float = 10) -> list[Event]:
    """Run the input until ``expected`` events arrived (or timeout), then stop it."""
    plugin = build_plugin("input", f"dead_letter_queue {{ poll_interval => 0.05 {options} }}", path_data=data)
    queue = MemoryQueue(capacity=10_000)
    stopping = threading.Event()
    ctx = InputContext(queue, plugin.decorate, stopping)

    async def main() -> None:
        task = asyncio.create_task(plugin.run(ctx))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(queue) < expected and loop.time() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # let a wrong extra replay show up
        stopping.set()
        await asyncio.wait_for(task, 30)  # a bound for a loaded machine, not a timing

    asyncio.run(main())
    plugin.close()
    out: list[Event] = []
    while True:
        batch = queue.get_batch(1000, 0.01)
        if not batch:
            return out
        out.extend(batch)


def test_replays_events_with_dead_letter_metadata_and_tags(tmp_path):
    fill(tmp_path, 3)
    events = replay(tmp_path, 'tags => ["replayed"]', 3)
    assert [e.get("n") for e in events] == [0, 1, 2]
    meta = events[0].metadata["dead_letter_queue"]
    assert meta["reason"] == "reason 0" and meta["plugin_type"] == "elasticsearch" and meta["plugin_id"] == "es1"
    assert "entry_time" in meta
    assert events[0].has_tag("replayed")


def test_commit_offsets_resumes_after_restart(tmp_path):
    fill(tmp_path, 4, segment_bytes=400)
    assert len(replay(tmp_path, "", 4)) == 4
    assert replay(tmp_path, "", 1, timeout=0.5) == []  # nothing new: nothing replayed again
    fill(tmp_path, 2, start=4)
    assert [e.get("n") for e in replay(tmp_path, "", 2)] == [4, 5]


def test_without_commit_offsets_everything_is_read_again(tmp_path):
    fill(tmp_path, 2)
    assert len(replay(tmp_path, "commit_offsets => false", 2)) == 2
    assert len(replay(tmp_path, "commit_offsets => false", 2)) == 2


def test_clean_consumed_deletes_read_segments(tmp_path):
    fill(tmp_path, 10, segment_bytes=400)
    directory = queue_dir(tmp_path, "main")
    assert len(list(directory.glob("*.log"))) > 2
    assert len(replay(tmp_path, "clean_consumed => true", 10)) == 10
    assert list(directory.glob("*.log")) == []


def test_start_timestamp_skips_older_entries(tmp_path):
    fill(tmp_path, 2)
    assert replay(tmp_path, 'start_timestamp => "2999-01-01T00:00:00Z"', 1, timeout=0.5) == []


def test_explicit_path_and_pipeline_id(tmp_path):
    writer = DeadLetterWriter(tmp_path / "elsewhere" / "ingest")
    writer.write(Event({"n": 7}), "r", plugin_type="elasticsearch", plugin_id="x")
    writer.close()
    events = replay(tmp_path, f'path => "{tmp_path / "elsewhere"}" pipeline_id => "ingest"', 1)
    assert [e.get("n") for e in events] == [7]


@pytest.mark.parametrize("text, message", [
    ("clean_consumed => true commit_offsets => false", "clean_consumed needs commit_offsets"),
    ('start_timestamp => "yesterday"', "ISO8601"),
])
def test_invalid_options(tmp_path, text, message):
    with pytest.raises(ConfigErrors, match=message):
        build_plugin("input", f"dead_letter_queue {{ {text} }}", path_data=tmp_path, register=False)


def test_replay_pushes_stay_within_the_queues_push_limit(tmp_path):
    fill(tmp_path, 30)
    plugin = build_plugin("input", "dead_letter_queue { poll_interval => 0.05 }", path_data=tmp_path)
    try:
        sizes, events = run_into_small_queue(plugin, capacity=20, until=30)  # pushes of at most 10
    finally:
        plugin.close()
    assert sizes == [10, 10, 10]
    assert [e.get("n") for e in events] == list(range(30))
