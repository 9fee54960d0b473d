"""Reading a local index's files directly, as any user of them could, for end-to-end checks."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from pipeline.localindex.store import file_uri


def stored_numbers(index_dir: Path) -> Counter[int]:
    """How often each line number (the second word of ``message``: "line N …") is in the local index,
    over every file of it (the plain file and the process workers' shards)."""
    seen: Counter[int] = Counter()
    for path in index_dir.glob("*.sqlite"):
        conn = sqlite3.connect(file_uri(path, "ro"), uri=True, timeout=10)  # quoted: shards have a #
        try:
            rows = conn.execute("SELECT json_extract(doc, '$.message') FROM docs").fetchall()
        except sqlite3.OperationalError:
            rows = []  # created, schema not committed yet
        finally:
            conn.close()
        seen.update(int(message.split()[1]) for (message,) in rows if message)
    return seen


def stored_count(index_dir: Path) -> int:
    """Documents in the local index over every file of it: a cheap look (no document is read), for
    polling a run's progress often."""
    total = 0
    for path in index_dir.glob("*.sqlite"):
        conn = sqlite3.connect(file_uri(path, "ro"), uri=True, timeout=10)
        try:
            total += conn.execute("SELECT count(*) FROM docs").fetchone()[0]
        except sqlite3.OperationalError:
            pass  # created, schema not committed yet
        finally:
            conn.close()
    return total
