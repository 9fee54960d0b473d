"""Benchmark: Filebeat-shaped traffic into the beats input and a null sink.

The server (beats input + MemoryQueue + a worker thread feeding the ``null``
output) runs in this process; the clients run in child processes, each
sending pre-encoded zlib (level 3) windows of 2,048 real Filebeat 8.1.3 events
with two windows in flight, as go-lumber does, and reading the acks.

    python bench/beats_bench.py                     # 1 client, 100 windows
    python bench/beats_bench.py --clients 2 --windows 60 --profile
    python bench/beats_bench.py --runtime --windows 60 --variants one-core,two-procs --rounds 3

Prints events/s counted from the first to the last ack.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import multiprocessing
import os
import pstats
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the client processes import pipeline.lumberjack from this checkout
sys.path.insert(0, str(REPO / "tests"))
from support.processes import descendants  # noqa: E402 - tests/ is put on the path just above

SHARED = Path(os.environ.get("PIPELINE_SHARED_DATA", REPO.parent / "shared" / "data"))
DATA = SHARED / "beats-events" / "filebeat" / "filebeat-8.1.3-apache_logs-2000.ndjson"
WINDOW = 2048


def load_payloads() -> list[bytes]:
    if not DATA.is_file():
        sys.exit(f"benchmark data not found: {DATA}")
    lines = [line for line in DATA.read_bytes().splitlines() if line]
    return (lines * (WINDOW // len(lines) + 1))[:WINDOW]


def client(port: int, windows: int, in_flight: int, result: multiprocessing.Queue) -> None:
    from pipeline.lumberjack.client import LumberjackClient
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


def stages() -> int:
    """CPU per event of each step of the event loop's work, on one window (best of 15)."""
    import orjson

    from pipeline.inputs.beats.events import EventBuilder, FieldNames
    from pipeline.lumberjack.frames import FrameParser, encode_window_frames
    from pipeline.plugin import build_from_dict

    payloads = load_payloads()
    data, _ = encode_window_frames(payloads, 1, 3)
    codec = build_from_dict("codec", "plain", {})
    beats = build_from_dict("input", "beats", {"port": 0})

    def best(step):  # type: ignore[no-untyped-def]
        fastest, result = 1e9, None
        for _ in range(15):
            started = time.thread_time()
            result = step()
            fastest = min(fastest, time.thread_time() - started)
        return fastest / len(payloads) * 1e6, result

    t_parse, frames = best(lambda: FrameParser().feed(data))
    raw = [frame[3] for frame in frames[1:]]
    t_loads, _ = best(lambda: [orjson.loads(p) for p in raw])

    def load_and_build():  # type: ignore[no-untyped-def]
        builder = EventBuilder(codec, fields=FieldNames.for_mode("v8"), codec_tag="beats_input_codec_plain_applied",
                               peer_ip="127.0.0.1", tls_metadata=None)
        out: list = []
        for payload in raw:
            builder.build(orjson.loads(payload), out)
        return out

    t_both, events = best(load_and_build)
    t_decorate, _ = best(lambda: [beats.decorate(e) for e in events])
    print(f"per event, CPU: inflate+frames {t_parse:.2f} us, JSON decode {t_loads:.2f} us, "
          f"event building {t_both - t_loads:.2f} us, decorate {t_decorate:.2f} us; "
          f"total {t_parse + t_both + t_decorate:.2f} us = {1e6 / (t_parse + t_both + t_decorate):,.0f} events/s "
          f"per core before asyncio and queue overhead")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0


def run_clients(port: int, args: argparse.Namespace) -> tuple[float, int]:
    load_payloads()  # fail here, not in the clients, when the data is missing
    results: multiprocessing.Queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=client, args=(port, args.windows, args.in_flight, results))
             for _ in range(args.clients)]
    for proc in procs:
        proc.start()
    spans = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    start = min(s for s, _, _ in spans)
    end = max(e for _, e, _ in spans)
    return end - start, sum(n for _, _, n in spans)


RUNTIME_VARIANTS = {
    # name: (command prefix, extra `pipeline run` flags)
    "default": ([], []),
    "one-core": (["taskset", "-c", "0"], ["-w", "1"]),
    "two-procs": ([], ["-w", "2", "--pipeline.worker_type", "process"]),
}


def _tree_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) of a process and of its live descendants, from /proc (worker processes
    are the fork server's children, not the main process's)."""
    tick = os.sysconf("SC_CLK_TCK")

    def cpu(one: int) -> float:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / tick

    return cpu(pid), sum(cpu(child) for child in descendants(pid))


def run_with_runtime(args: argparse.Namespace, variant: str = "default") -> tuple[float, float, float]:
    """One real `pipeline run` (beats -> null); returns (events/s wall, server CPU µs per event: main process,
    worker processes). ``variant`` is a name of RUNTIME_VARIANTS, optionally ``@<checkout>`` for another tree."""
    name, _, tree = variant.partition("@")
    prefix, flags = RUNTIME_VARIANTS[name]
    cwd = Path(tree) if tree else REPO
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = f'input {{ beats {{ host => "127.0.0.1" port => {port} }} }} output {{ null {{}} }}'
    with tempfile.TemporaryDirectory() as data:
        proc = subprocess.Popen([*prefix, sys.executable, "-m", "pipeline", "run", "-e", config, "--path.data", data,
                                 "--api.enabled", "false", "--log.level", "warn", *flags], cwd=cwd)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        sys.exit("pipeline run did not start")
                    time.sleep(0.1)
            time.sleep(0.5)  # worker processes signal ready before the input listens; let them settle
            main_before, workers_before = _tree_cpu(proc.pid)
            elapsed, total = run_clients(port, args)
            main_after, workers_after = _tree_cpu(proc.pid)
            main, workers = main_after - main_before, workers_after - workers_before
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
    rate = total / elapsed
    print(f"pipeline run (beats -> null) {variant} {' '.join(prefix + flags)}: {args.clients} client(s) x "
          f"{args.windows} windows x {WINDOW} events, {args.in_flight} in flight, zlib level 3: "
          f"{total} events in {elapsed:.2f} s = {rate:,.0f} events/s; server CPU {(main + workers) / total * 1e6:.2f} "
          f"µs/event (main {main / total * 1e6:.2f}, workers {workers / total * 1e6:.2f}); "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    return rate, main / total * 1e6, workers / total * 1e6


def compare_runtime(args: argparse.Namespace) -> int:
    """Interleaved rounds of the real command: one core (threads) against two worker processes."""
    variants = args.variants.split(",")
    results: dict[str, list[tuple[float, float, float]]] = {v: [] for v in variants}
    for _ in range(args.rounds):
        for variant in variants:
            results[variant].append(run_with_runtime(args, variant))
    base = max(r for r, _, _ in results[variants[0]])
    base_median = statistics.median(r for r, _, _ in results[variants[0]])
    for variant in variants:
        rates = [r for r, _, _ in results[variant]]
        main, workers = min((m + w, m, w) for _, m, w in results[variant])[1:]
        print(f"{variant}: best {max(rates):,.0f} events/s = {max(rates) / base:.2f}x {variants[0]}; median "
              f"{statistics.median(rates):,.0f} = {statistics.median(rates) / base_median:.2f}x; least server CPU "
              f"{main + workers:.2f} µs/event (main {main:.2f}, workers {workers:.2f})")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--windows", type=int, default=100, help="windows per client")
    parser.add_argument("--in-flight", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="profile the server's event loop thread")
    parser.add_argument("--workers", type=int, default=1, help="worker threads draining the queue")
    parser.add_argument("--queue", type=int, default=0, help="queue capacity (default 4 x workers x 125)")
    parser.add_argument("--runtime", action="store_true",
                        help="serve with the real `pipeline run` process (beats -> null output) instead")
    parser.add_argument("--variants", default="default",
                        help=f"with --runtime: comma-separated, run in interleaved rounds: {', '.join(RUNTIME_VARIANTS)}; "
                             "NAME@DIR runs the `pipeline` of another checkout (a baseline)")
    parser.add_argument("--rounds", type=int, default=1, help="with --runtime: rounds of every variant")
    parser.add_argument("--gc-threshold", type=int, default=0,
                        help="set gc.set_threshold(N, 50, 100) in the server process (0 = Python's default 700)")
    parser.add_argument("--stages", action="store_true", help="only measure the CPU cost of each decoding step")
    args = parser.parse_args()
    if args.stages:
        sys.path.insert(0, str(REPO))
        return stages()
    if args.runtime:
        return compare_runtime(args)

    if args.gc_threshold:
        gc.set_threshold(args.gc_threshold, 50, 100)
    sys.path.insert(0, str(REPO))
    from pipeline.inputs.base import InputContext
    from pipeline.plugin import build_from_dict
    from pipeline.queue import MemoryQueue

    beats = build_from_dict("input", "beats", {"host": "127.0.0.1", "port": 0})
    beats.register()
    null = build_from_dict("output", "null", {})
    queue = MemoryQueue(args.queue or 4 * 125 * args.workers)  # runtime default: 4 x workers x batch
    stopping = threading.Event()
    loop = asyncio.new_event_loop()
    ctx = InputContext(queue, beats.decorate, stopping, loop)
    profiler = cProfile.Profile() if args.profile else None
    cpu: dict[str, float] = {}

    def serve() -> None:
        if profiler:
            profiler.enable()
        started = time.thread_time()
        loop.run_until_complete(beats.run(ctx))
        cpu["loop"] = time.thread_time() - started
        if profiler:
            profiler.disable()

    def work() -> None:
        started = time.thread_time()
        while (batch := queue.get_batch(125, 0.05)) is not None:
            null.receive(batch)
        cpu["worker"] = cpu.get("worker", 0.0) + time.thread_time() - started

    server = threading.Thread(target=serve)
    workers = [threading.Thread(target=work) for _ in range(args.workers)]
    server.start()
    for worker in workers:
        worker.start()
    while beats.bound_port is None:
        time.sleep(0.01)

    elapsed, total = run_clients(beats.bound_port, args)
    stopping.set()
    server.join()
    queue.close()
    for worker in workers:
        worker.join()

    print(f"beats input: {args.clients} client(s) x {args.windows} windows x {WINDOW} events, "
          f"{args.in_flight} in flight, zlib level 3")
    print(f"{total} events in {elapsed:.2f} s = {total / elapsed:,.0f} events/s")
    print(f"server CPU: event loop thread {cpu['loop'] / total * 1e6:.2f} us/event "
          f"(= {total / cpu['loop']:,.0f} events per CPU-second), worker thread "
          f"{cpu['worker'] / total * 1e6:.2f} us/event ({args.workers} worker thread(s)); "
          f"gc thresholds {gc.get_threshold()}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"server stats: {beats.stats.snapshot()}")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
