"""Throughput benchmark: apache lines → grok → date → mutate → Elasticsearch bulk NDJSON → discarded.

The corpus (../shared/data/access/apache_logs, 10,000 real combined-format
lines) is repeated to the requested number of events. Each event goes
through the filters built from config text, exactly as a user writes them,
then is encoded as a bulk ``index`` action into the daily index
``logs-%{+YYYY.MM.dd}``; the bodies (125 events each, the pipeline's batch
size) are counted and dropped.

Variants measured in the same run:
  ours          our grok (re fast path + timeout protection), one process
  ours-notimeout   same with timeout_millis => 0 (no protection: the cost of the guard)
  pygrok        the same pipeline with a grok step built on pygrok (the design card's peer)
  ours x2       two worker processes, each with half of the events (multi-core scaling)

    python bench/throughput.py                      # 1,000,000 events, a few minutes
    python bench/throughput.py --events 200000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import os
import pstats
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("PIPELINE_SHARED_DATA", REPO.parent / "shared" / "data")) / "access" / "apache_logs"
BATCH = 125

GROK = 'grok { match => { "message" => "%{COMBINEDAPACHELOG}" } ecs_compatibility => disabled EXTRA }'


def load_lines() -> list[str]:
    if not CORPUS.is_file():
        sys.exit(f"benchmark corpus not found: {CORPUS}")
    return CORPUS.read_text(encoding="utf-8").splitlines()


class PygrokStep:
    """A grok step on pygrok with the grok filter's semantics for this benchmark (set fields, tag on failure)."""

    def __init__(self) -> None:
        import pygrok

        self.grok = pygrok.Grok("%{COMBINEDAPACHELOG}")

    def filter(self, event: Any) -> None:
        found = self.grok.match(event.data["message"])
        if found is None:
            event.tag("_grokparsefailure")
            return
        data = event.data
        for key, value in found.items():
            if value is not None and value != "":
                data[key] = value


def build_steps(variant: str) -> list[Any]:
    from pipeline.testing import build_plugin

    steps: list[Any] = []
    if variant == "pygrok":
        steps.append(PygrokStep())
    else:
        steps.append(build_plugin("filter", GROK.replace("EXTRA", "timeout_millis => 0" if variant == "ours-notimeout" else "")))
    for block in ('date { match => ["timestamp", "dd/MMM/yyyy:HH:mm:ss Z"] }',
                  'mutate { convert => { "bytes" => "integer" "response" => "integer" } '
                  'remove_field => ["timestamp"] }'):
        steps.append(build_plugin("filter", block))
    return steps


def batch_step(step: Any) -> Any:
    """A step over a list of events, as the runtime calls it (``filter_batch`` where a filter has one)."""
    if hasattr(step, "filter_batch"):
        return step.filter_batch
    run = step.filter

    def each(events: list[Any]) -> list[Any]:
        for event in events:
            run(event)
        return events

    return each


def run_events(variant: str, lines: list[str], count: int) -> dict[str, Any]:
    """Process ``count`` events in this process; returns counters and timings."""
    from pipeline.elasticsearch.bulk import body, encode_action
    from pipeline.event import Event
    from pipeline.template import Template

    steps = build_steps(variant)
    index = Template.compile("logs-%{+YYYY.MM.dd}")
    filters = [batch_step(step) for step in steps]
    n_lines = len(lines)
    out_bytes = in_bytes = failures = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        actions = []
        events = []
        for i in range(done, done + size):
            line = lines[i % n_lines]
            in_bytes += len(line) + 1
            events.append(Event({"message": line}))
        for step in filters:
            step(events)
        for event in events:
            if event.has_tag("_grokparsefailure"):
                failures += 1
            actions.append(encode_action(event, "index", index.render(event)))
        out_bytes += len(body(actions))
        done += size
    elapsed = time.perf_counter() - start
    return {"events": count, "seconds": elapsed, "cpu_seconds": time.process_time() - cpu_start,
            "in_bytes": in_bytes, "out_bytes": out_bytes,
            "failures": failures, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def grok_only(variant: str, lines: list[str], count: int) -> float:
    """CPU seconds spent in the grok step alone for ``count`` events (event creation subtracted)."""
    from pipeline.event import Event

    step = batch_step(build_steps(variant)[0])
    n_lines = len(lines)
    start = time.process_time()  # CPU time: steadier than wall time on a shared machine
    for first in range(0, count, BATCH):
        [Event({"message": lines[i % n_lines]}) for i in range(first, min(first + BATCH, count))]
    baseline = time.process_time() - start
    start = time.process_time()
    for first in range(0, count, BATCH):
        step([Event({"message": lines[i % n_lines]}) for i in range(first, min(first + BATCH, count))])
    return time.process_time() - start - baseline


def _worker(args: tuple[str, int]) -> dict[str, Any]:
    variant, count = args
    return run_events(variant, load_lines(), count)


def run_parallel(variant: str, count: int, processes: int) -> dict[str, Any]:
    """``processes`` workers each doing count/processes events; wall time from start to the last one done."""
    share = count // processes
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        pool.map(_worker, [(variant, 1000)] * processes)  # warm up: imports, pattern compilation
        start = time.perf_counter()
        results = pool.map(_worker, [(variant, share)] * processes)
        elapsed = time.perf_counter() - start
    return {"events": share * processes, "seconds": elapsed, "cpu_seconds": sum(r["cpu_seconds"] for r in results),
            "in_bytes": sum(r["in_bytes"] for r in results),
            "out_bytes": sum(r["out_bytes"] for r in results), "failures": sum(r["failures"] for r in results),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results)}


def show(name: str, result: dict[str, Any]) -> float:
    rate = result["events"] / result["seconds"]
    print(f"{name:18s} {result['events']:>9,d} ev  {result['seconds']:7.2f} s  {rate:>9,.0f} ev/s  "
          f"in {result['in_bytes'] / result['seconds'] / 1e6:6.1f} MB/s  out {result['out_bytes'] / 1e6:7.1f} MB  "
          f"peak RSS {result['peak_rss_mb']:4.0f} MB  CPU {result['cpu_seconds'] / result['events'] * 1e6:5.1f} us/ev  "
          f"grok failures {result['failures']}", flush=True)
    return rate


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest round (the least disturbed by other load on the machine), with totals for the record."""
    best = min(runs, key=lambda r: r["seconds"] / r["events"])  # wall time: what a user sees
    return {**best, "total_events": sum(r["events"] for r in runs), "total_seconds": sum(r["seconds"] for r in runs)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events per variant in total (default 1,000,000)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="variants alternate in this many rounds; the best round is reported (noisy machines)")
    parser.add_argument("--pygrok-events", type=int, default=200_000,
                        help="events for the (slow) pygrok variant in total; the rate is what is compared")
    parser.add_argument("--processes", type=int, default=2, help="workers for the scaling run")
    parser.add_argument("--profile", action="store_true", help="profile one core of our pipeline and print the top")
    parser.add_argument("--only", choices=["ours", "ours-notimeout", "pygrok", "parallel"], action="append")
    args = parser.parse_args()
    lines = load_lines()
    wanted = set(args.only or ["ours", "ours-notimeout", "pygrok", "parallel"])
    print(f"corpus {CORPUS} ({len(lines):,d} lines), {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        show("ours (profiled)", run_events("ours", lines, args.events))
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return 0
    run_events("ours", lines, 2000)  # warm up imports and caches outside the timings
    per_round = max(1, args.events // args.rounds)
    pygrok_round = max(1, args.pygrok_events // args.rounds)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in ("ours", "notimeout", "pygrok", "parallel")}
    grok_step: dict[str, float] = {"ours": 0.0, "pygrok": 0.0}
    grok_count = 0
    for _ in range(args.rounds):
        if "ours" in wanted:
            runs["ours"].append(run_events("ours", lines, per_round))
        if "ours-notimeout" in wanted:
            runs["notimeout"].append(run_events("ours-notimeout", lines, per_round))
        if "pygrok" in wanted:
            runs["pygrok"].append(run_events("pygrok", lines, pygrok_round))
            step_ours, step_theirs = grok_only("ours", lines, pygrok_round), grok_only("pygrok", lines, pygrok_round)
            if not grok_count or step_ours / step_theirs < grok_step["ours"] / grok_step["pygrok"]:
                grok_step = {"ours": step_ours, "pygrok": step_theirs}
            grok_count = pygrok_round
        if "parallel" in wanted:
            runs["parallel"].append(run_parallel("ours", per_round, args.processes))
    print(f"best of {args.rounds} rounds (load average now {os.getloadavg()[0]:.1f}):")
    rates: dict[str, float] = {}
    labels = {"ours": "ours (1 core)", "notimeout": "ours, no timeout", "pygrok": "pygrok (1 core)",
              "parallel": f"ours x{args.processes} procs"}
    for name, label in labels.items():
        if runs[name]:
            best = best_of(runs[name])
            rates[name] = show(label, best)
    if grok_count:
        print(f"{'grok step only':18s} {grok_count:>9,d} ev  ours {grok_count / grok_step['ours']:>9,.0f} ev/s "
              f"({grok_step['ours'] / grok_count * 1e6:.1f} us/ev)  pygrok {grok_count / grok_step['pygrok']:>9,.0f} ev/s "
              f"({grok_step['pygrok'] / grok_count * 1e6:.1f} us/ev)")
    print()
    if "ours" in rates and "pygrok" in rates:
        print(f"ours / pygrok, pipeline    {rates['ours'] / rates['pygrok']:.2f}x   (goal >= 3x)")
        print(f"ours / pygrok, grok step   {grok_step['pygrok'] / grok_step['ours']:.2f}x")
    if "ours" in rates and "parallel" in rates:
        print(f"{args.processes} processes / 1          {rates['parallel'] / rates['ours']:.2f}x   (goal >= 1.8x)")
    if "ours" in rates and "notimeout" in rates:
        cost = 1 - rates["ours"] / rates["notimeout"]
        cpu = {name: min(r["cpu_seconds"] / r["events"] for r in runs[name]) for name in ("ours", "notimeout")}
        print(f"timeout protection cost    {cost * 100:.1f}% wall, {(cpu['ours'] / cpu['notimeout'] - 1) * 100:.1f}% "
              f"CPU per event (best rounds)   (goal < 15%)")
    if "ours" in rates:
        cpu_best = min(r["cpu_seconds"] / r["events"] for r in runs["ours"])
        print(f"one core                   {rates['ours']:,.0f} ev/s wall, {1 / cpu_best:,.0f} ev per CPU-second   "
              f"(goal >= 150,000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
