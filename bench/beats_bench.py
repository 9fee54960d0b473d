"""Benchmark: Filebeat-shaped traffic into the beats input and a null sink.

The server (beats input + MemoryQueue + a worker thread feeding the ``null``
output) runs in this process; the clients run in child processes, each
sending pre-encoded zlib (level 3) windows of 2,048 real Filebeat 8.1.3 events
with two windows in flight, as go-lumber does, and reading the acks.

    python bench/beats_bench.py                     # 1 client, 100 windows
    python bench/beats_bench.py --clients 2 --windows 60 --profile

Prints events/s counted from the first to the last ack.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import pstats
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "beats-events" / "filebeat" / "filebeat-8.1.3-apache_logs-2000.ndjson"
WINDOW = 2048


def load_payloads() -> list[bytes]:
    if not DATA.is_file():
        sys.exit(f"benchmark data not found: {DATA}")
    lines = [line for line in DATA.read_bytes().splitlines() if line]
    return (lines * (WINDOW // len(lines) + 1))[:WINDOW]


def client(port: int, windows: int, in_flight: int, result: multiprocessing.Queue) -> None:
    from pipeline.lumberjack.client import LumberjackClient

    data, last = None, 0
    from pipeline.lumberjack.frames import encode_window_frames

    data, last = encode_window_frames(load_payloads(), 1, compress_level=3)
    with LumberjackClient("127.0.0.1", port, timeout=120) as conn:
        sent = acked = 0
        start = time.perf_counter()
        while acked < windows:
            while sent < windows and sent - acked < in_flight:
                conn.send_raw(data)
                sent += 1
            if conn.read_ack() != last:
                raise SystemExit("wrong ack")
            acked += 1
        result.put((start, time.perf_counter(), windows * WINDOW))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--windows", type=int, default=100, help="windows per client")
    parser.add_argument("--in-flight", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="profile the server's event loop thread")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from pipeline.inputs.base import InputContext
    from pipeline.plugin import build_from_dict
    from pipeline.queue import MemoryQueue

    beats = build_from_dict("input", "beats", {"host": "127.0.0.1", "port": 0})
    beats.register()
    null = build_from_dict("output", "null", {})
    queue = MemoryQueue(4 * 125 * 2)  # the runtime's default: 4 x workers x batch size
    stopping = threading.Event()
    loop = asyncio.new_event_loop()
    ctx = InputContext(queue, beats.decorate, stopping, loop)
    profiler = cProfile.Profile() if args.profile else None

    def serve() -> None:
        if profiler:
            profiler.enable()
        loop.run_until_complete(beats.run(ctx))
        if profiler:
            profiler.disable()

    def work() -> None:
        while (batch := queue.get_batch(125, 0.05)) is not None:
            null.receive(batch)

    server = threading.Thread(target=serve)
    worker = threading.Thread(target=work)
    server.start()
    worker.start()
    while beats.bound_port is None:
        time.sleep(0.01)

    results: multiprocessing.Queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=client, args=(beats.bound_port, args.windows, args.in_flight, results))
             for _ in range(args.clients)]
    for proc in procs:
        proc.start()
    spans = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    stopping.set()
    server.join()
    queue.close()
    worker.join()

    start = min(s for s, _, _ in spans)
    end = max(e for _, e, _ in spans)
    total = sum(n for _, _, n in spans)
    print(f"beats input: {args.clients} client(s) x {args.windows} windows x {WINDOW} events, "
          f"{args.in_flight} in flight, zlib level 3")
    print(f"{total} events in {end - start:.2f} s = {total / (end - start):,.0f} events/s")
    print(f"server stats: {beats.stats.snapshot()}")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
