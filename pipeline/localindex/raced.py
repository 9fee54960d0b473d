"""Copies of one event that two writers of an index stored at the same moment, and how one of them goes.

Each writer of an index (process workers: ``<index>#<n>.sqlite``, or the plain file) looks the ``doc_key``
of a batch's events up in the index's other files before writing it (the *pre-check*, P) and skips those
found; its own file's unique key catches the rest. Two writers whose pre-checks both run before either
commits (C) both store the event. So after committing, a writer looks the keys it actually inserted up in
the other files again (the *post-check*, Q) and, for a key found there, settles it under a lock shared by
the index directory's writers (taken only then, so ordinary writes never wait for each other):

    under the lock, look again; if another file still holds the key, remove our copy (else keep it).

Why exactly one copy survives, for writers A and B (any shard numbers) and any order of
A.P < A.C < A.Q and B.P < B.C < B.Q:

* If B.P runs after A.C, B sees A's copy and skips it: one copy (A never removes its copy, as no other
  file holds the key). The same with A and B swapped. Only the orders where both pre-checks come
  before both commits (A.P, B.P < A.C, B.C) store two copies; these are the rest.
* Whichever commits last, say B (A.C < B.C), sees A's copy in its post-check (A.C < B.C < B.Q), so at
  least one of the two reaches the lock. A may see B's copy too (when B.C < A.Q), or not.
* Removals only happen under the lock, one writer at a time, and only when another copy is there at
  that moment: the first writer in removes its copy and leaves the other one; a second one (if it
  saw a copy in its post-check) looks again under the lock, finds the first one's copy gone, and keeps
  its own. The number of copies never goes from one to zero (a removal needs another copy), and never
  stays at two (the last committer removes its copy unless the other is gone already).

So neither "the lower shard wins" alone (A.P, B.P, B.C, B.Q, A.C, A.Q: B, the higher, checked before A
committed and kept its copy; A, the lower, would keep its own too) nor checking without the lock (both see
the other's copy and both remove theirs) settles every order. tests/localindex/test_localindex_raced.py runs
all twenty orders (and the 90 of three writers that all pre-checked first). With more writers the same
holds: a copy is removed only while another exists, and the last committer of any two surviving copies would
have seen the other.

The pre-check only saves work: nothing above needs it beyond "a key it found is not written twice", and a
writer that skips it is a writer that wrote a second copy, which its post-check settles as any other (a
copy from an earlier run counts as one whose writer committed first and never removes it). So a writer
stops pre-checking after a run of batches where it found nothing (``store.QUIET_PRE_CHECKS``), until a
post-check finds a key elsewhere again; the post-check runs for every batch.

Keys that are first deliveries (:class:`pipeline.eventid.FirstDelivery`: ids from a nonce this run minted,
each delivered once, to one writer) skip both checks: no earlier run stored them, and no other writer gets
them in this run, so no other file can hold them at any step above. ``LocalIndex.write(first=...)``.

Removing a row keeps the file consistent: its FTS5 entry (contentless: deleted with the exact text it
was indexed with, else a later document given the same id would match the removed message), the
``fts_upto`` watermark (lowered to the new last id, or a later document given the removed id would be
taken as indexed), and a removal counter (meta ``removed``) that readers' per-file caches (slot counts,
absent fields) include in the file's identity, since rows they counted may be gone.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = ".raced-copies.lock"  # not *.sqlite: never taken for an index file
REMOVED_KEY = "removed"  # meta key: how many times rows were removed from this file
FTS_DELETE = "INSERT INTO docs_fts(docs_fts, rowid, message) VALUES ('delete', ?, ?)"


@contextmanager
def settling(directory: Path) -> Iterator[None]:
    """Hold the index directory's lock for settling raced copies (one writer process at a time)."""
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@dataclass(frozen=True)
class Removed:
    ids: frozenset[int]
    last: int  # the file's last id afterwards


def remove_copies(conn: sqlite3.Connection, keys: Sequence[str], base: int, texts: dict[int, str]) -> Removed:
    """Remove the rows holding ``keys`` from the file in one transaction.

    Only rows of the batch just written (ids above ``base``) are removed: ``texts`` (id -> the message
    text FTS5 got, or gets, for it) is known for those only, and an FTS5 entry left behind would make a
    later document given the same id match the removed message. Those up to the watermark leave FTS5 too.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        ids = []
        for start in range(0, len(keys), 500):  # SQLite's default limit is 32766 parameters
            chunk = keys[start:start + 500]
            ids += [doc_id for (doc_id,) in conn.execute(
                f"SELECT id FROM docs WHERE id > ? AND doc_key IN ({','.join('?' * len(chunk))})", (base, *chunk))]
        row = conn.execute("SELECT value FROM meta WHERE key = 'fts_upto'").fetchone()
        upto = int(row[0]) if row is not None else None
        indexed = [(doc_id, texts[doc_id]) for doc_id in ids if doc_id in texts and (upto is None or doc_id <= upto)]
        conn.executemany(FTS_DELETE, indexed)
        conn.executemany("DELETE FROM docs WHERE id = ?", [(doc_id,) for doc_id in ids])
        last = conn.execute("SELECT coalesce(max(id), 0) FROM docs").fetchone()[0]
        if upto is not None and upto > last:
            conn.execute("UPDATE meta SET value = ? WHERE key = 'fts_upto'", (str(last),))
        conn.execute(f"INSERT INTO meta(key, value) VALUES ('{REMOVED_KEY}', '1') ON CONFLICT(key) "
                     "DO UPDATE SET value = CAST(value AS INTEGER) + 1")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return Removed(frozenset(ids), last)


def removals(conn: sqlite3.Connection) -> int:
    """How many times rows were removed from the file (0 for files that never had any removed)."""
    row = conn.execute(f"SELECT value FROM meta WHERE key = '{REMOVED_KEY}'").fetchone()
    return int(row[0]) if row is not None else 0
