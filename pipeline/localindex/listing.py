"""Which files each index has in an index directory, and when an earlier listing of it still holds.

The other writers' files (``store._PeerFiles``) are looked up on every batch a writer stores, and a file
missed there may leave two copies of a raced event (see raced.py): a listing may be reused only while no
file can have come or gone since. The directory's mtime tells, with one catch: a file created in the same
tick of the file system's clock as the last change leaves the mtime as it was. So a listing is reused only
if, when it was taken, the directory's mtime was already older than that tick; any later change then gets
a later mtime. Linux stamps files from its coarse clock (a tick is 1-10 ms); a file system that keeps whole
seconds (ext3, HFS+) or two (FAT) shows mtimes of whole seconds, and gets the longer wait.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.localindex import naming, schema

SUB_SECOND_TICK_NS = 100_000_000  # ten times Linux's coarsest tick (HZ=100), for clock adjustments
WHOLE_SECOND_TICK_NS = 2_000_000_000  # FAT keeps mtimes in steps of 2 s


def stems_by_index(directory: Path) -> dict[str, list[str]]:
    """Index name -> the stems of its files in ``directory``: the plain file first, then shards by number."""
    if not directory.is_dir():
        return {}
    found: dict[str, list[tuple[int, str]]] = {}
    for entry in os.scandir(directory):
        if entry.name.endswith(schema.SUFFIX) and entry.is_file():
            stem = entry.name[: -len(schema.SUFFIX)]
            split = naming.split_stem(stem)
            if split is not None:
                found.setdefault(split[0], []).append((-1 if split[1] is None else split[1], stem))
    return {name: [stem for _, stem in sorted(files)] for name, files in found.items()}


def clock_tick_ns(mtime_ns: int) -> int:
    """How long after ``mtime_ns`` a change to the directory may still be stamped with the same mtime."""
    return WHOLE_SECOND_TICK_NS if mtime_ns % 1_000_000_000 == 0 else SUB_SECOND_TICK_NS


class DirectoryListing:
    """:func:`stems_by_index` of one directory, listed again only when a file can have come or gone.
    Not thread-safe: callers hold their own lock."""

    def __init__(self, directory: Path, clock: Callable[[], int] = time.time_ns) -> None:
        self.directory = directory
        self._clock = clock  # the wall clock the file system stamps mtimes from, in ns
        self.scans = 0  # directory listings taken (the rest were answered from the last one)
        self._trusted: tuple[int, dict[str, list[str]]] | None = None  # (directory mtime, stems)

    def stems(self) -> dict[str, list[str]]:
        now = self._clock()  # before the stat: a change after it is stamped after now - tick
        try:
            mtime = os.stat(self.directory).st_mtime_ns
        except OSError:
            return {}
        if self._trusted is not None and self._trusted[0] == mtime:
            return self._trusted[1]
        stems = stems_by_index(self.directory)
        self.scans += 1
        self._trusted = (mtime, stems) if now - mtime > clock_tick_ns(mtime) else None
        return stems

    def forget(self) -> None:
        """List again next time (files are being deleted)."""
        self._trusted = None
