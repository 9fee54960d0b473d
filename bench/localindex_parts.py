"""What each part of the local index costs per event, on the real Apache lines of the default path.

    python bench/localindex_parts.py [--events 50000] [--rounds 3]

The lines (``$PIPELINE_SHARED_DATA/access/apache_logs`` repeated; ``--time-order``, see bench/apache_input.py) go through grok COMBINEDAPACHELOG and
date as in ``pipeline run``, with stable event ids as the file input gives them. Then, in interleaved rounds:

* ``rows``: building the rows in Python (``schema.rows_for``: JSON document, hot columns, shapes);
* SQLite alone on those prebuilt rows, one transaction per 125-event batch, adding one structure at a
  time: the bare ``docs`` table, + ``docs_irr``, + ``docs_ts_hot``, + ``docs_key``, + FTS5 on ``message``
  (in chunks of 2,048 as the store does).

And, for the product question of issue 15 goal 1 (a store without per-event b-trees or full text at
ingest), ``blocks``: the floor of such a store, from the events: each 125-event batch as one row holding
its JSON lines, its time range and the distinct values of each hot column (what a block summary would
keep to skip blocks at query time), one transaction per batch; ``blocks, no summary`` leaves the value
sets out (time range only). Nothing is indexed per event, so a query
would scan the blocks its summaries do not rule out.

User and system CPU of this process per event (system time is mostly the WAL and checkpoint writes).
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import sys
import tempfile
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from apache_input import add_time_order_argument, build_lines, corpus_path  # noqa: E402

from pipeline.event import Event  # noqa: E402
from pipeline.eventid import document_ids  # noqa: E402
from pipeline.localindex import schema  # noqa: E402
from pipeline.localindex.store import FTS_CHUNK  # noqa: E402
from pipeline.serde import events_json_lines  # noqa: E402
from pipeline.testing import run_filters  # noqa: E402

FILTERS = ('grok { match => { "message" => "%{COMBINEDAPACHELOG}" } }\n'
           'date { match => [ "timestamp", "dd/MMM/yyyy:HH:mm:ss Z" ] }')
BATCH = 125
VARIANTS = ("docs", "+irr", "+irr+hot", "+irr+hot+key", "+irr+hot+key+fts")


def apache_events(count: int, order: str) -> list[Event]:
    corpus = corpus_path().read_bytes().splitlines()
    lines = [line.decode("utf-8") for line in build_lines(corpus, count, order)]
    raw = [{"message": lines[i], "log": {"file": {"path": "/var/log/apache2/access.log"}},
            "host": {"name": "web-1"}, "@metadata": {"_id": f"5f0c2a9e41d7b3a8-{i * 240}"}} for i in range(count)]
    return run_filters(FILTERS, raw)


def cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def build_rows(events: list[Event]) -> list[schema.Rows]:
    return [schema.rows_for(batch, document_ids(batch))
            for batch in (events[i:i + BATCH] for i in range(0, len(events), BATCH))]


def write(batches: list[schema.Rows], variant: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        conn = sqlite3.connect(os.path.join(directory, "x.sqlite"), isolation_level=None)
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "cache_size = -16000"):
            conn.execute(f"PRAGMA {pragma}")
        for statement in filter(str.strip, schema.DDL.split(";")):
            conn.execute(statement)
        if "irr" not in variant:
            conn.execute("DROP INDEX docs_irr")
        if "hot" in variant:
            conn.execute(schema.TIME_HOT_INDEX)
        if "key" in variant:
            conn.execute(schema.DOC_KEY_INDEX)
        base, pending = 0, []
        for rows in batches:
            conn.execute("BEGIN IMMEDIATE")
            for statement, run in rows.runs:
                conn.executemany(statement, run)
            if "fts" in variant:
                pending += [(base + pos, text) for pos, text in rows.texts]
                if len(pending) >= FTS_CHUNK:
                    conn.executemany(schema.INSERT_TEXT, pending)
                    pending = []
            base += rows.count
            conn.execute("COMMIT")
        conn.close()


def write_blocks(events: list[Event], summaries: bool = True) -> None:
    """One row per batch: JSON lines, time range, per hot field the set of values seen (see the docstring)."""
    hot = [(column, field.split(".")) for field, column in schema.HOT_FIELDS.items()]
    with tempfile.TemporaryDirectory() as directory:
        conn = sqlite3.connect(os.path.join(directory, "x.sqlite"), isolation_level=None)
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "cache_size = -16000"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("CREATE TABLE blocks (id INTEGER PRIMARY KEY, ts_min TEXT, ts_max TEXT, n INTEGER,"
                     " summary BLOB, body BLOB)")
        for start in range(0, len(events), BATCH):
            batch = events[start:start + BATCH]
            summary: dict[str, set[str]] = {column: set() for column, _ in hot}
            for event in batch if summaries else ():
                for column, path in hot:
                    value: object = event.data
                    for part in path:
                        value = value.get(part) if isinstance(value, dict) else None
                    if value is not None:
                        summary[column].add(str(value))
            stamps = [str(event.data.get("@timestamp")) for event in batch]
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO blocks (ts_min, ts_max, n, summary, body) VALUES (?, ?, ?, ?, ?)",
                         (min(stamps), max(stamps), len(batch),
                          orjson.dumps({column: sorted(values) for column, values in summary.items()}),
                          events_json_lines(batch)))
            conn.execute("COMMIT")
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    add_time_order_argument(parser)
    args = parser.parse_args()
    events = apache_events(args.events, args.time_order)
    spent: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        user, system = cpu()
        batches = build_rows(events)
        after = cpu()
        spent.setdefault("rows (Python)", []).append((after[0] - user, after[1] - system))
        for variant in VARIANTS:
            user, system = cpu()
            write(batches, variant)
            after = cpu()
            spent.setdefault(variant, []).append((after[0] - user, after[1] - system))
        user, system = cpu()
        write_blocks(events)
        after = cpu()
        spent.setdefault("blocks (all)", []).append((after[0] - user, after[1] - system))
        user, system = cpu()
        write_blocks(events, summaries=False)
        after = cpu()
        spent.setdefault("blocks, no summary", []).append((after[0] - user, after[1] - system))
    load = os.getloadavg()
    print(f"{args.events} Apache events, batches of {BATCH}, load average {load[0]:.2f} {load[1]:.2f}")
    for label, runs in spent.items():
        cells = "  ".join(f"user {u / args.events * 1e6:4.1f} sys {s / args.events * 1e6:4.1f}" for u, s in runs)
        print(f"  {label:<18} µs/event: {cells}")


if __name__ == "__main__":
    main()
