"""The local index under real concurrency: readers during writes (WAL) and a writer killed mid-batch."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipeline.localindex import LocalIndex

INDEX = "logs-2026.11.21"

WRITER = textwrap.dedent("""
    import os, sys, time
    from pipeline.event import Event
    from pipeline.localindex import LocalIndex

    directory, batches, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    mode = sys.argv[4] if len(sys.argv) > 4 else "loop"
    idx = LocalIndex(directory)

    def batch(k):
        return [Event({"@timestamp": "2026-11-21T10:00:00Z", "message": f"batch {k} event {i} common",
                       "k": k, "service": {"name": "svc"}}) for i in range(size)]

    if mode == "stall":
        # One committed batch, then a second one frozen deep inside its inserts, with a tiny page
        # cache so uncommitted pages spill into the WAL file before the kill.
        idx.write("logs-2026.11.21", batch(0))
        print("committed", flush=True)
        conn = idx._writers["logs-2026.11.21"][0]
        conn.execute("PRAGMA cache_size = 10")
        wal = directory + "/logs-2026.11.21.sqlite-wal"
        committed_size = os.path.getsize(wal)

        def progress():
            if os.path.getsize(wal) > committed_size + 64 * 1024:  # uncommitted pages are on disk
                print("midway", flush=True)
                time.sleep(120)
            return 0

        conn.set_progress_handler(progress, 1000)
        idx.write("logs-2026.11.21", batch(1))
        print("not killed", flush=True)
    else:
        for k in range(batches):
            idx.write("logs-2026.11.21", batch(k))
            print(k, flush=True)
            if mode == "gated" and k == 0:
                sys.stdin.readline()  # the test holds its snapshot first, however fast the writes
""")


def start_writer(directory: Path, batches: int, size: int, mode: str = "loop") -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(directory), str(batches), str(size), mode],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def wait_for_line(proc: subprocess.Popen[str], expected: str) -> list[str]:
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line.strip())
        if line.strip() == expected:
            return seen
    raise AssertionError(f"writer ended before printing {expected!r}; it printed {seen!r}")


def assert_consistent(directory: Path, size: int) -> int:
    """Whole batches only, SQLite integrity OK, full-text index in step with the documents."""
    idx = LocalIndex(directory)
    total = idx.count("logs-*")
    assert total % size == 0, f"{total} documents is not a whole number of {size}-event batches"
    assert idx.count("logs-*", "common") == total
    assert idx.count("logs-*", "service.name:svc") == total
    path = directory / f"{INDEX}.sqlite"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*), coalesce(max(id), 0) FROM docs").fetchone() == (total, total)
        # Full-text rows: exactly the documents up to the watermark, each once.
        upto = int(conn.execute("SELECT value FROM meta WHERE key = 'fts_upto'").fetchone()[0])
        assert 0 <= total - upto < max(size, 2048) + size
        assert conn.execute("SELECT count(*) FROM docs_fts WHERE docs_fts MATCH 'common'").fetchone()[0] == upto
    idx.close()
    return total


@pytest.mark.slow
def test_readers_never_block_the_writer_and_see_whole_batches(tmp_path: Path) -> None:
    batches, size = 60, 500
    writer = start_writer(tmp_path, batches, size, mode="gated")
    try:
        wait_for_line(writer, "0")
        idx = LocalIndex(tmp_path)
        # Hold a read snapshot open: the writer must keep committing meanwhile. It waits for the snapshot (a
        # writer fast enough could finish all 60 batches before it, and nothing be committed while it is held).
        reader = sqlite3.connect(tmp_path / f"{INDEX}.sqlite", isolation_level=None)
        reader.execute("BEGIN")
        held = reader.execute("SELECT count(*) FROM docs").fetchone()[0]
        assert held == size
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
        counts = []
        deadline = time.monotonic() + 120
        while writer.poll() is None and time.monotonic() < deadline:
            counts.append(idx.count("logs-*"))
            assert counts[-1] % size == 0  # never a partial batch
        assert reader.execute("SELECT count(*) FROM docs").fetchone()[0] == held  # a stable snapshot
        reader.execute("COMMIT")
        reader.close()
        assert writer.wait(timeout=120) == 0
        assert counts == sorted(counts)
        assert max(counts) > held  # the writer committed while the snapshot was held
        assert idx.count("logs-*") == batches * size
        idx.close()
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert assert_consistent(tmp_path, size) == batches * size


@pytest.mark.slow
def test_sigkill_mid_batch_leaves_the_last_committed_state(tmp_path: Path) -> None:
    size = 5000
    writer = start_writer(tmp_path, 0, size, mode="stall")
    try:
        wait_for_line(writer, "midway")
        wal = tmp_path / f"{INDEX}.sqlite-wal"
        assert wal.exists() and wal.stat().st_size > 0  # uncommitted pages reached the disk
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(timeout=30) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert assert_consistent(tmp_path, size) == size  # batch 0 only, none of batch 1
    idx = LocalIndex(tmp_path)
    assert idx.count("logs-*", "k:1") == 0
    # The index keeps working after recovery: the next write appends with fresh ids.
    from pipeline.event import Event

    idx.write(INDEX, [Event({"@timestamp": "2026-11-21T11:00:00Z", "message": "after the crash"})])
    assert idx.count("logs-*") == size + 1
    assert idx.search("logs-*", "crash")[0]["_id"] == str(size + 1)
    idx.close()


@pytest.mark.slow
def test_sigkill_at_random_moments(tmp_path: Path) -> None:
    size = 2000
    rng = random.Random(5)
    committed = 0
    for _ in range(3):
        writer = start_writer(tmp_path, 1000, size)
        try:
            wait_for_line(writer, "0")
            time.sleep(rng.uniform(0.05, 0.6))
            writer.send_signal(signal.SIGKILL)
            writer.wait(timeout=30)
        finally:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
        total = assert_consistent(tmp_path, size)
        assert total >= committed + size  # at least the batch it reported
        committed = total


@pytest.mark.slow
def test_two_writer_processes_share_an_index(tmp_path: Path) -> None:
    batches, size = 20, 300
    writers = [start_writer(tmp_path, batches, size) for _ in range(2)]
    try:
        for writer in writers:
            assert writer.wait(timeout=180) == 0
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
    assert assert_consistent(tmp_path, size) == 2 * batches * size  # ids unique and dense: max(id) == count
