"""Background checkpoints: a writer's WAL copied into its index file while the writer goes on.

SQLite copies a WAL back into its database file (a checkpoint) inside the commit that makes the WAL
pass ``wal_autocheckpoint`` pages, and when the last connection to a file closes. So whatever the
WAL held at the end of a run (up to 1,000 pages, for each file written) was copied and synced at
close, by a process that had nothing else left to do: 0.1-0.5 s of I/O at the end of every run of
`pipeline run` into the local index. Here a thread of the writing process copies, every
:data:`INTERVAL`, the WAL of each file written since its last pass (``PRAGMA
wal_checkpoint(PASSIVE)``: never waits for, nor blocks, the writer or readers), on a connection of
its own; SQLite releases the GIL meanwhile, so the writer keeps its core. A file not written for a
whole pass (yesterday's index, once today's events come) is checkpointed once more with ``TRUNCATE``:
its WAL emptied to 0 bytes, so the close neither copies nor frees it (freeing a WAL of tens of MB
took ~10 ms per file here: ext4 mounted with ``discard``). At close little is left.

Crash safety is SQLite's: a checkpoint may be cut anywhere, the WAL stays valid until it is
restarted. A pass that fails (file deleted, disk trouble) is only skipped: the close still
checkpoints, as it did before.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger("pipeline.localindex")
#: seconds between passes: what a close has left to copy is about this much of the writer's work
INTERVAL = 0.25


class BackgroundCheckpoints:
    """Checkpoints the files :meth:`written` names, from a thread started on the first one."""

    def __init__(self, interval: float | None = INTERVAL) -> None:
        self.interval = interval  # None: no thread, the owner calls run_pass (tests)
        self.passes = 0  # checkpoints run (for tests and logs)
        self._written: set[Path] = set()
        self._idle: set[Path] = set()  # written before the last pass, not since: to truncate
        self._conns: dict[Path, tuple[sqlite3.Connection, int]] = {}  # path -> (connection, inode)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def written(self, path: Path) -> None:
        """A transaction was committed to ``path``: its WAL grew."""
        with self._lock:
            self._written.add(path)
            if self._thread is None and self.interval is not None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="localindex-checkpoints", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        assert self.interval is not None
        while not self._stop.wait(self.interval):
            self.run_pass()

    def run_pass(self) -> None:
        """One pass: files written since the last pass are copied back (PASSIVE), files written before
        it and not since are emptied (TRUNCATE). Called by the thread (tests call it directly)."""
        with self._lock:
            paths, self._written = self._written, set()
        idle, self._idle = self._idle - paths, set()
        for path in sorted(idle):
            if self._stop.is_set():
                return
            if not self._checkpoint(path, "TRUNCATE"):
                self._idle.add(path)  # a reader or the writer was busy: again next pass
        for path in sorted(paths):
            if self._stop.is_set():
                return
            self._checkpoint(path, "PASSIVE")
            self._idle.add(path)

    def _checkpoint(self, path: Path, mode: str) -> bool:
        """True once done (or nothing to do); False when busy."""
        try:
            inode = os.stat(path).st_ino
        except OSError:
            self._forget(path)  # deleted meanwhile: nothing to copy
            return True
        cached = self._conns.get(path)
        if cached is not None and cached[1] != inode:  # replaced: the old file is not ours to copy
            self._forget(path)
            cached = None
        try:
            if cached is None:
                # timeout 0: a TRUNCATE that would wait for a reader or the writer gives up instead
                conn = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
                self._conns[path] = (conn, inode)
            else:
                conn = cached[0]
            busy = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()[0]
            self.passes += 1
            return not busy
        except sqlite3.Error as exc:  # busy, I/O trouble: the next pass or the close copies it
            log.debug("background checkpoint of %s skipped: %s", path, exc)
            return False

    def _forget(self, path: Path) -> None:
        cached = self._conns.pop(path, None)
        if cached is not None:
            cached[0].close()

    def close(self) -> None:
        """Stop the thread and close its connections (before the writers close theirs: the last
        connection to close a file checkpoints what is left)."""
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join()
        for path in list(self._conns):
            self._forget(path)
