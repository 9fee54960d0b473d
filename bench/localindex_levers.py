"""SQLite-side levers of the local index write, one change at a time, on prebuilt Apache rows.

    python bench/localindex_levers.py --events 100000 --rounds 3 \\
        base detail=full page=4096 detail=full,page=4096 key=hash key=none time=ts time=none fts=off

Rows are built once as ``pipeline run`` builds them (``bench/localindex_parts.py``: grok COMBINEDAPACHELOG,
date, stable ids); then each variant writes them into a fresh file with the store's pragmas and schema,
one transaction per 125-event batch, FTS5 in chunks. ``base`` is the current schema; a variant is
comma-separated changes to it:

* ``detail=full|column|none``: the FTS5 table's detail; ``page=BYTES``: SQLite page size;
* ``key=text|hash|none``: the replay key as the text id (unique index), as a 64-bit integer hash of it
  (unique index on the integer, the text not stored), or no key;
* ``time=hot|ts|none``: the time index with the hot columns (``docs_ts_hot``), on ``ts`` alone, or none;
* ``fts=on|off``; ``chunk=N``: messages per FTS5 flush; ``checkpoint=PAGES``: WAL auto-checkpoint;
  ``automerge=N``, ``hashsize=BYTES``: FTS5 settings (segments merged at once, pending-terms memory).

Reports user and system CPU of this process per event and the file size per event, per round.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sqlite3
import sys
import tempfile
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from localindex_parts import apache_events, build_rows  # noqa: E402

from pipeline.localindex import schema  # noqa: E402
from pipeline.localindex.store import FTS_CHUNK  # noqa: E402

DEFAULTS = {"detail": "none", "page": str(schema.PAGE_SIZE), "key": "text", "time": "hot", "fts": "on",
            "chunk": str(FTS_CHUNK), "checkpoint": "1000", "automerge": "16",
            "hashsize": str(1 << 20)}


def settings(variant: str) -> dict[str, str]:
    out = dict(DEFAULTS)
    for change in filter(None, variant.split(",")):
        if change == "base":
            continue
        name, _, value = change.partition("=")
        if name not in out:
            sys.exit(f"unknown lever {name!r}; known: {', '.join(DEFAULTS)}")
        out[name] = value
    return out


def key_hash(key: str) -> int:
    data = key.encode()
    return (zlib.crc32(data) << 31) ^ zlib.adler32(data)  # 63 bits, computed in C


def write(batches: list[schema.Rows], lever: dict[str, str], directory: str) -> int:
    path = os.path.join(directory, "x.sqlite")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA page_size = {int(lever['page'])}")
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "cache_size = -16000"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute(f"PRAGMA wal_autocheckpoint = {int(lever['checkpoint'])}")
    ddl = re.sub(r"detail=\w+", f"detail={lever['detail']}", schema.DDL)
    if lever["key"] == "hash":
        ddl = ddl.replace("doc_key TEXT", "doc_key INTEGER")
    for statement in filter(str.strip, ddl.split(";")):
        conn.execute(statement)
    conn.execute(f"INSERT INTO docs_fts(docs_fts, rank) VALUES ('automerge', {int(lever['automerge'])})")
    conn.execute(f"INSERT INTO docs_fts(docs_fts, rank) VALUES ('hashsize', {int(lever['hashsize'])})")
    if lever["time"] == "hot":
        conn.execute(schema.TIME_HOT_INDEX)
    elif lever["time"] == "ts":
        conn.execute("CREATE INDEX docs_ts ON docs(ts)")
    if lever["key"] != "none":
        conn.execute(schema.DOC_KEY_INDEX)
    chunk = int(lever["chunk"])
    base, pending = 0, []
    for rows in batches:
        conn.execute("BEGIN IMMEDIATE")
        for statement, run in rows.runs:
            if lever["key"] == "hash":
                run = [(*row[:-1], key_hash(row[-1])) for row in run]
            elif lever["key"] == "none":
                statement = statement.replace(", doc_key)", ")").replace(", ?)", ")").replace(" OR IGNORE", "")
                run = [row[:-1] for row in run]
            conn.executemany(statement, run)
        if lever["fts"] == "on":
            pending += [(base + pos, text) for pos, text in rows.texts]
            if len(pending) >= chunk:
                conn.executemany(schema.INSERT_TEXT, pending)
                pending = []
        base += rows.count
        conn.execute("COMMIT")
    conn.close()
    return os.path.getsize(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("variants", nargs="*", default=["base", "detail=full,page=4096"])
    args = parser.parse_args()
    batches = build_rows(apache_events(args.events))
    spent: dict[str, list[tuple[float, float, int]]] = {}
    for _ in range(args.rounds):
        for variant in args.variants:
            with tempfile.TemporaryDirectory() as directory:
                before = resource.getrusage(resource.RUSAGE_SELF)
                size = write(batches, settings(variant), directory)
                after = resource.getrusage(resource.RUSAGE_SELF)
            spent.setdefault(variant, []).append((after.ru_utime - before.ru_utime,
                                                  after.ru_stime - before.ru_stime, size))
    load = os.getloadavg()
    print(f"{args.events} Apache events, batches of 125, load average {load[0]:.2f} {load[1]:.2f}")
    for variant, runs in spent.items():
        cells = "  ".join(f"{(u + s) / args.events * 1e6:4.1f} (user {u / args.events * 1e6:4.1f})"
                          for u, s, _ in runs)
        print(f"  {variant:<24} µs/event: {cells}  {runs[0][2] / args.events:,.0f} B/event")


if __name__ == "__main__":
    main()
