"""The dead letter queue on disk: segments, limits, retention, crash leftovers, one writer per directory."""

from __future__ import annotations

import os
import time

import pytest

from pipeline.errors import PluginError
from pipeline.event import Event
from pipeline.queue.dead_letter import (
    DeadLetterReader,
    DeadLetterWriter,
    Position,
    queue_dir,
    release_writer,
    writer_for,
)


def event(n: int, **extra) -> Event:
    return Event({"@timestamp": "2026-11-21T10:00:00Z", "n": n, **extra})


def read_all(directory) -> list:
    return [entry for entry, _ in DeadLetterReader(directory).read()]


def test_round_trip_keeps_event_metadata_and_reason(tmp_path):
    writer = DeadLetterWriter(tmp_path / "dlq")
    original = event(1, message="mapping conflict")
    original.metadata["route"] = "b"
    assert writer.write(original, "status: 400 document_parsing_exception", plugin_type="elasticsearch",
                        plugin_id="es1")
    writer.close()
    [entry] = read_all(tmp_path / "dlq")
    assert entry.reason == "status: 400 document_parsing_exception"
    assert (entry.plugin_type, entry.plugin_id, entry.pipeline_id) == ("elasticsearch", "es1", "main")
    replayed = entry.to_event()
    assert replayed.get("message") == "mapping conflict"
    assert replayed.timestamp.iso() == "2026-11-21T10:00:00.000Z"
    assert replayed.metadata["route"] == "b"
    assert replayed.metadata["dead_letter_queue"]["reason"].startswith("status: 400")
    assert replayed.metadata["dead_letter_queue"]["plugin_id"] == "es1"


def test_unsealed_segment_is_invisible_until_flush(tmp_path):
    writer = DeadLetterWriter(tmp_path / "dlq", flush_interval=3600)
    writer.write(event(1), "r", plugin_type="t", plugin_id="i")
    assert read_all(tmp_path / "dlq") == []
    assert [p.name for p in (tmp_path / "dlq").glob("*.tmp")] == ["1.log.tmp"]
    writer.flush()
    assert len(read_all(tmp_path / "dlq")) == 1
    writer.close()


def test_idle_segment_is_sealed_after_flush_interval(tmp_path):
    writer = DeadLetterWriter(tmp_path / "dlq", flush_interval=0.2)
    writer.write(event(1), "r", plugin_type="t", plugin_id="i")
    deadline = time.monotonic() + 30  # a bound for a loaded machine, not a timing
    while not read_all(tmp_path / "dlq") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(read_all(tmp_path / "dlq")) == 1
    writer.close()


def test_segments_roll_over_and_reader_resumes_from_position(tmp_path):
    writer = DeadLetterWriter(tmp_path / "dlq", max_segment_bytes=600)
    for n in range(10):
        writer.write(event(n), "r", plugin_type="t", plugin_id="i")
    writer.close()
    reader = DeadLetterReader(tmp_path / "dlq")
    assert len(reader.segments()) > 2
    read = list(reader.read())
    assert [e.event["n"] for e, _ in read] == list(range(10))
    middle = read[4][1]
    assert [e.event["n"] for e, _ in reader.read(middle)] == list(range(5, 10))
    assert list(reader.read(read[-1][1])) == []


def test_full_queue_drop_newer_refuses_and_counts(tmp_path):
    writer = DeadLetterWriter(tmp_path / "dlq", max_bytes=1000, max_segment_bytes=300)
    results = [writer.write(event(n), "r", plugin_type="t", plugin_id="i") for n in range(20)]
    writer.close()
    assert results[0] and not results[-1]
    assert writer.stats.dropped_full == results.count(False) > 0
    entries = read_all(tmp_path / "dlq")
    assert [e.event["n"] for e in entries] == list(range(len(entries)))  # oldest kept
    assert sum(p.stat().st_size for p in (tmp_path / "dlq").glob("*.log")) <= 1000


def test_full_queue_drop_older_deletes_oldest_segments(tmp_path):
    writer = DeadLetterWriter(tmp_path / "dlq", max_bytes=1000, max_segment_bytes=300, storage_policy="drop_older")
    assert all(writer.write(event(n), "r", plugin_type="t", plugin_id="i") for n in range(20))
    writer.close()
    kept = [e.event["n"] for e in read_all(tmp_path / "dlq")]
    assert kept[-1] == 19 and kept[0] > 0
    assert writer.stats.dropped_full == 0


def test_retention_age_deletes_old_segments(tmp_path):
    writer = DeadLetterWriter(tmp_path / "dlq", retain_age=3600)
    writer.write(event(1), "old", plugin_type="t", plugin_id="i")
    writer.flush()
    [old_segment] = (tmp_path / "dlq").glob("*.log")
    two_hours_ago = time.time() - 7200
    os.utime(old_segment, (two_hours_ago, two_hours_ago))
    writer.write(event(2), "new", plugin_type="t", plugin_id="i")
    writer.close()
    assert [e.reason for e in read_all(tmp_path / "dlq")] == ["new"]
    assert writer.stats.expired_segments == 1


def test_torn_last_line_after_crash_is_skipped_and_earlier_entries_survive(tmp_path):
    directory = tmp_path / "dlq"
    writer = DeadLetterWriter(directory)
    writer.write(event(1), "kept", plugin_type="t", plugin_id="i")
    writer._current.write(b'{"time":"2026-11-21T10:00:00.000Z","reason":"to')  # crash mid-write
    writer._current.flush()
    writer._current = None  # simulate the process dying: nothing sealed
    writer._lock_file.close()
    writer._closed.set()
    reopened = DeadLetterWriter(directory)  # seals the leftover .tmp
    reopened.write(event(2), "after restart", plugin_type="t", plugin_id="i")
    reopened.close()
    reader = DeadLetterReader(directory)
    assert [e.reason for e, _ in reader.read()] == ["kept", "after restart"]
    assert reader.corrupt_lines == 1


def test_second_writer_on_same_directory_is_refused(tmp_path):
    first = DeadLetterWriter(tmp_path / "dlq")
    with pytest.raises(PluginError, match="in use by another process"):
        DeadLetterWriter(tmp_path / "dlq")
    first.close()
    DeadLetterWriter(tmp_path / "dlq").close()


def test_writer_for_shares_one_writer_and_honours_settings(tmp_path):
    a = writer_for(tmp_path, "main", {})
    b = writer_for(tmp_path, "main", {})
    assert a is b and a.directory == queue_dir(tmp_path, "main")
    release_writer(a)
    assert not a._closed.is_set()  # b still uses it
    release_writer(b)
    assert a._closed.is_set()
    assert writer_for(tmp_path, "main", {"dead_letter_queue.enable": False}) is None
    custom = writer_for(tmp_path, "p2", {"dead_letter_queue.max_bytes": "2kb",
                                         "dead_letter_queue.storage_policy": "drop_older"})
    assert custom.max_bytes == 2048 and custom.storage_policy == "drop_older"
    release_writer(custom)


def test_start_timestamp_filters_older_entries(tmp_path):
    from pipeline.timestamp import Timestamp

    writer = DeadLetterWriter(tmp_path / "dlq")
    writer.write(event(1), "r", plugin_type="t", plugin_id="i")
    writer.close()
    future = Timestamp(Timestamp.now().millis + 60_000)
    assert list(DeadLetterReader(tmp_path / "dlq", start_timestamp=future).read()) == []
    assert list(DeadLetterReader(tmp_path / "dlq").read(Position(99, 0))) == []


def test_concurrent_writers_lose_no_entry(tmp_path):
    import threading

    writer = DeadLetterWriter(tmp_path / "dlq", max_segment_bytes=4096)

    def write_many(worker: int) -> None:
        for n in range(200):
            writer.write(event(n, worker=worker), "r", plugin_type="t", plugin_id=f"w{worker}")

    threads = [threading.Thread(target=write_many, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    entries = read_all(tmp_path / "dlq")
    assert len(entries) == 800
    assert {(e.event["worker"], e.event["n"]) for e in entries} == {(w, n) for w in range(4) for n in range(200)}


def test_killed_writer_process_keeps_every_complete_entry(tmp_path):
    import signal
    import subprocess
    import sys

    directory = tmp_path / "dlq"
    script = (
        "import sys, time\n"
        "from pipeline.queue.dead_letter import DeadLetterWriter\n"
        f"w = DeadLetterWriter({str(directory)!r}, max_segment_bytes=2000, flush_interval=3600)\n"
        "n = 0\n"
        "while True:\n"
        "    w.write({'n': n, 'pad': 'x' * 100}, 'r', plugin_type='t', plugin_id='i')\n"
        "    n += 1\n"
        "    if n == 300: print('ready', flush=True)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    reopened = DeadLetterWriter(directory)  # the lock died with the process; leftovers get sealed
    reopened.close()
    numbers = [e.event["n"] for e in read_all(directory)]
    assert len(numbers) >= 300
    assert numbers == list(range(len(numbers)))  # in order, no gap, no duplicate
