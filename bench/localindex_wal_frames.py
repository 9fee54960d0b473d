"""Which pages a local index write dirties: WAL frames per commit, by b-tree, on the default path's events.

    python bench/localindex_wal_frames.py [--events 30000]

Writes the Apache lines of ``bench/localindex_parts.py`` (after grok + date, 125-event batches, stable
ids) with ``LocalIndex.write`` and automatic checkpoints off, then reads the WAL's frame headers (each
frame is one page written at one commit) and names each page's owner with SQLite's ``dbstat`` table.
Every frame costs a 16 KiB write to the WAL and, at the next checkpoint, a read and a write into the
database, so frames per commit drive the index's system time. Three key shapes are compared: the
benchmark's ids, the file input's ids past 10 MB (8-digit offsets, where text order is not numeric
order) and zero-padded offsets (text order = arrival order).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sqlite3
import struct
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from localindex_parts import BATCH, apache_events  # noqa: E402

from pipeline.event import Event  # noqa: E402
from pipeline.localindex.store import LocalIndex  # noqa: E402

NONCE = "5f0c2a9e41d7b3a8"
KEYS: dict[str, Callable[[int], str]] = {
    "bench ids": lambda pos: f"{NONCE}-{pos * 240}",
    "8-digit offsets": lambda pos: f"{NONCE}-{10_000_000 + pos * 240}",
    "padded offsets": lambda pos: f"{NONCE}-{10_000_000 + pos * 240:016d}",
}


def wal_frames(wal: Path) -> tuple[list[int], int]:
    """The page number of every frame in ``wal`` and how many commits they make."""
    data = wal.read_bytes()
    page_size = struct.unpack(">I", data[8:12])[0]
    pages, commits, offset = [], 0, 32  # a 32-byte WAL header, then frames of 24 bytes + a page
    while offset + 24 <= len(data):
        page, commit_size = struct.unpack(">II", data[offset:offset + 8])
        pages.append(page)
        commits += commit_size != 0  # the last frame of a commit carries the database size
        offset += 24 + page_size
    return pages, commits


def measure(events: list[Event], key_of: Callable[[int], str]) -> tuple[float, collections.Counter[str]]:
    directory = Path(tempfile.mkdtemp(prefix="wal-frames-"))
    try:
        store = LocalIndex(directory)
        store._writer("logs-x").execute("PRAGMA wal_autocheckpoint = 0")  # keep every frame in the WAL
        for start in range(0, len(events), BATCH):
            batch = events[start:start + BATCH]
            store.write("logs-x", batch, [key_of(start + pos) for pos in range(len(batch))])
        pages, commits = wal_frames(directory / "logs-x.sqlite-wal")
        conn = sqlite3.connect(directory / "logs-x.sqlite")
        owner = dict((page, name) for name, page in conn.execute("SELECT name, pageno FROM dbstat"))
        conn.close()
        store.close()
        by_tree = collections.Counter(owner.get(page, "?") for page in pages)
        return len(pages) / commits, collections.Counter({name: count / commits for name, count in by_tree.items()})
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=30_000)
    args = parser.parse_args()
    events = apache_events(args.events)
    print(f"{args.events} events, batches of {BATCH}; WAL frames per commit")
    for label, key_of in KEYS.items():
        total, by_tree = measure(events, key_of)
        parts = "  ".join(f"{name} {count:.2f}" for name, count in by_tree.most_common(6))
        print(f"{label:>16}: {total:5.1f}  ({parts})")


if __name__ == "__main__":
    main()
