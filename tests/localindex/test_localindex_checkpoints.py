"""Background checkpoints: a writer's WAL is copied back during the run, and emptied once its file idles,
while the writer and readers go on; nothing is lost, and the close has little left to copy."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from pipeline.event import Event
from pipeline.localindex import LocalIndex
from pipeline.localindex.checkpoints import BackgroundCheckpoints

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _events(count: int, start: int = 0) -> list[Event]:
    return [Event({"@timestamp": (T0 + timedelta(seconds=start + n)).isoformat(), "message": f"line {start + n}",
                   "n": start + n}) for n in range(count)]


def _wal(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def _backfilled(path: Path) -> int:
    """Rows the database file itself holds (the WAL ignored): what a checkpoint copied back."""
    conn = sqlite3.connect(f"file:{quote(str(path))}?immutable=1", uri=True)  # quoted: shard files hold '#'
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'docs'").fetchone() is None:
            return 0  # not even the schema was copied back yet
        return int(conn.execute("SELECT count(*) FROM docs").fetchone()[0])
    finally:
        conn.close()


def _manual(index: LocalIndex) -> BackgroundCheckpoints:
    """The store's checkpoints without their thread: each pass is run by the test."""
    index._checkpoints.close()
    index._checkpoints = BackgroundCheckpoints(interval=None)
    return index._checkpoints


def test_a_pass_copies_the_wal_back_and_an_idle_file_gets_an_empty_wal(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path, shard=0)
    manual = _manual(index)
    try:
        index.write("logs-a", _events(300))
        path = index.path_of("logs-a")
        assert _wal(path) > 0 and _backfilled(path) < 300
        manual.run_pass()  # written since the last pass: PASSIVE, the rows reach the file
        assert _backfilled(path) == 300 and _wal(path) > 0
        reader = LocalIndex(tmp_path)
        assert reader.count("logs-a") == 300  # a reader during the passes sees everything
        manual.run_pass()  # not written since: TRUNCATE, the WAL is emptied
        assert _wal(path) == 0 and _backfilled(path) == 300
        index.write("logs-a", _events(50, start=300))  # the writer goes on after a truncation
        assert reader.count("logs-a") == 350
        reader.close()
    finally:
        index.close()
    assert _backfilled(path) == 350 and not Path(f"{path}-wal").exists()


def test_a_busy_file_is_truncated_at_a_later_pass_and_a_deleted_one_forgotten(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path, shard=0)
    manual = _manual(index)
    try:
        index.write("logs-a", _events(100))
        index.write("logs-b", _events(100))
        a, b = index.path_of("logs-a"), index.path_of("logs-b")
        manual.run_pass()
        reader = sqlite3.connect(a, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM docs").fetchone()  # a read transaction holds the WAL
        index.write("logs-a", _events(10, start=100))  # ... and the writer appended after it
        manual.run_pass()  # logs-b idle: truncated; logs-a written again: copied back only
        assert _wal(b) == 0 and _wal(a) > 0
        reader.execute("COMMIT")
        manual.run_pass()  # logs-a idle now, the reader done: truncated
        assert _wal(a) == 0 and _backfilled(a) == 110
        reader.close()
        index.write("logs-b", _events(5, start=100))
        os.unlink(b)  # deleted meanwhile (`pipeline indices --delete`)
        manual.run_pass()
        assert b not in manual._conns
    finally:
        index.close()


def test_the_thread_starts_with_the_first_write_and_stops_at_close(tmp_path: Path) -> None:
    index = LocalIndex(tmp_path, shard=0)
    assert index._checkpoints._thread is None  # a store that only reads starts no thread
    index.write("logs-a", _events(10))
    thread = index._checkpoints._thread
    assert thread is not None and thread.is_alive()
    index.close()
    assert not thread.is_alive()
    assert LocalIndex(tmp_path).count("logs-a") == 10
