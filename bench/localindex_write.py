"""Write throughput of the embedded local index (events/s on one core).

    python bench/localindex_write.py [--events 200000] [--batch 1000] [--runtime-gc] [--stages] [--shards]

--shards: two writers as process workers 1 and 2 (one process here, batches taking turns), with stable
keys, so each batch pays the replay checks against the other's file (the pre-check, and since the
same-moment fix the post-check) as under `-w 2 --pipeline.worker_type process`.

Events look like parsed web/service logs (message, log.level, service.name,
host.name, http fields, tags). Building the events is not timed; writing is
(JSON encoding, row extraction, SQLite inserts incl. FTS5, commits).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time

from pipeline.event import Event
from pipeline.localindex import LocalIndex

LEVELS = ["INFO", "INFO", "INFO", "WARN", "ERROR", "DEBUG"]
SERVICES = ["auth", "web", "billing", "search", "gateway"]
PATHS = ["/api/login", "/api/orders/42", "/static/app.js", "/healthz", "/api/search?q=shoes"]


def make_events(count: int, seed: int = 7) -> list[Event]:
    rng = random.Random(seed)
    base = 1_795_000_000_000
    events = []
    for i in range(count):
        status = rng.choice([200, 200, 200, 201, 301, 404, 500, 503])
        path = rng.choice(PATHS)
        events.append(Event({
            "@timestamp": _ts(base + i * 10),
            "message": f'10.0.{i % 255}.{rng.randrange(255)} - - "GET {path} HTTP/1.1" {status} '
                       f"{rng.randrange(20000)} request took {rng.randrange(900)}ms user={rng.randrange(5000)}",
            "log": {"level": rng.choice(LEVELS)},
            "service": {"name": rng.choice(SERVICES)},
            "host": {"name": f"web-{rng.randrange(12):02d}"},
            "http": {"request": {"method": "GET"}, "response": {"status_code": status,
                                                                "body": {"bytes": rng.randrange(20000)}}},
            "url": {"original": path},
            "tags": ["beats_input_codec_plain_applied"] + (["_grokparsefailure"] if i % 50 == 0 else []),
        }))
    return events


def _ts(millis: int) -> str:
    secs, ms = divmod(millis, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{ms:03d}Z"


def stages(events: list[Event], batch: int) -> None:
    """Time each stage of LocalIndex.write separately (CPU time of this thread)."""
    from pipeline.localindex import schema

    spent = dict.fromkeys(("rows (Python: JSON + columns)", "docs insert", "FTS insert (chunks)", "commit"), 0.0)
    keys = list(spent)
    with tempfile.TemporaryDirectory() as directory:
        idx = LocalIndex(directory)
        idx.write("logs-2026.11.21", events[:1])  # create the file and schema
        conn = idx._writers["logs-2026.11.21"][0]
        base = 1  # the first event is already in
        upto = 1
        pending: list[tuple[int, str]] = []
        for i in range(0, len(events), batch):
            marks = [time.thread_time()]
            rows = schema.rows_for(events[i:i + batch])
            marks.append(time.thread_time())
            conn.execute("BEGIN IMMEDIATE")
            for statement, run in rows.runs:
                conn.executemany(statement, run)
            marks.append(time.thread_time())
            last = base + rows.count
            pending += [(base + pos, text) for pos, text in rows.texts]
            if last - upto >= idx.fts_chunk:  # as LocalIndex.write: messages go to FTS5 in chunks
                idx._index_text(conn, upto, last, pending, known_from=upto)
                upto, pending = last, []
            marks.append(time.thread_time())
            conn.execute("COMMIT")
            marks.append(time.thread_time())
            base = last
            for key, start, end in zip(keys, marks, marks[1:], strict=False):
                spent[key] += end - start
        idx.close()
    total = sum(spent.values())
    for key, seconds in spent.items():
        print(f"{key:<32} {seconds / len(events) * 1e6:6.2f} µs/event")
    print(f"{'total':<32} {total / len(events) * 1e6:6.2f} µs/event = {len(events) / total:,.0f} events/s of CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--stages", action="store_true",
                        help="CPU µs per event of each stage: rows (Python), docs insert, FTS insert, commit")
    parser.add_argument("--shards", action="store_true",
                        help="two shard writers (workers 1 and 2) taking turns, events keyed: replay checks paid")
    parser.add_argument("--runtime-gc", action="store_true",
                        help="tune the cyclic GC as `pipeline run` does (pipeline.runtime.agent.tune_gc)")
    args = parser.parse_args()
    events = make_events(args.events)
    if args.runtime_gc:
        from pipeline.runtime.agent import tune_gc

        tune_gc()
    if args.stages:
        stages(events, args.batch)
        return
    with tempfile.TemporaryDirectory() as directory:
        writers = [LocalIndex(directory, shard=n) for n in (1, 2)] if args.shards else [LocalIndex(directory)]
        keys = [f"key-{n}" for n in range(len(events))] if args.shards else None
        started = time.process_time()
        wall = time.perf_counter()
        for turn, i in enumerate(range(0, len(events), args.batch)):
            writers[turn % len(writers)].write("logs-2026.11.21", events[i:i + args.batch],
                                               None if keys is None else keys[i:i + args.batch])
        cpu = time.process_time() - started
        elapsed = time.perf_counter() - wall
        size = writers[0].indices()[0].size_bytes
        stored = writers[0].count("logs-*")
        for idx in writers:
            idx.close()
        if stored != args.events:
            raise SystemExit(f"{stored} events stored, expected {args.events}")
    print(f"events={args.events} batch={args.batch} shards={args.shards} runtime_gc={args.runtime_gc} wall={elapsed:.2f}s cpu={cpu:.2f}s "
          f"rate_wall={args.events / elapsed:,.0f}/s rate_cpu={args.events / cpu:,.0f}/s "
          f"bytes_per_event={size / args.events:.0f}")


if __name__ == "__main__":
    main()
