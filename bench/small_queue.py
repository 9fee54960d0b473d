"""Small queues through the real `pipeline` command: CPU and wall per run, this tree against another.

    python bench/small_queue.py [--events 200000] [--rounds 5] [--other DIR]
                                [--variant 'max_events=50 batch=125' ...]

Each run is `pipeline run -w 1 --queue.max_events M -b B` of ``generator { count => N }`` into ``null {}``;
the generator pushes up to 256 events at a time, so a queue smaller than two batches is where a worker
waiting for a fuller batch stalls a blocked input (pipeline/queue/memory.py get_batch). Rounds interleave
the variants and the trees (the machine is shared); per variant and tree it prints the median CPU seconds of
the child (os.wait4 user+sys) and the median wall seconds, with the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from child_run import measured_run

CONFIG = 'input {{ generator {{ count => {count} message => "small queue" }} }} output {{ null {{}} }}'
THIS_TREE = str(Path(__file__).resolve().parent.parent)
DEFAULT_VARIANTS = ["max_events=50 batch=125", "max_events=200 batch=125", "max_events=0 batch=125"]


def run(tree: str, count: int, max_events: int, batch: int) -> tuple[float, float]:
    """CPU seconds (user+sys) and wall seconds of one run."""
    command = [sys.executable, "-m", "pipeline", "run", "-w", "1", "--queue.max_events", str(max_events),
               "-b", str(batch), "--api.enabled", "false", "-e", CONFIG.format(count=count)]
    usage, wall = measured_run(command, tree, f"(max_events {max_events}, -b {batch})")
    return usage.ru_utime + usage.ru_stime, wall


def parse(variant: str) -> tuple[int, int]:
    fields = dict(part.split("=") for part in variant.split())
    return int(fields["max_events"]), int(fields["batch"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--other", help="directory holding another version's pipeline package")
    parser.add_argument("--variant", action="append", help="'max_events=M batch=B' (repeatable)")
    args = parser.parse_args()
    variants = [parse(v) for v in (args.variant or DEFAULT_VARIANTS)]
    trees = {"this": THIS_TREE, **({"other": os.path.abspath(args.other)} if args.other else {})}
    results: dict[tuple[str, int, int], list[tuple[float, float]]] = {}
    print(f"{args.events} events, {args.rounds} rounds, load before {os.getloadavg()}")
    for _ in range(args.rounds):
        for max_events, batch in variants:
            for name, tree in trees.items():
                results.setdefault((name, max_events, batch), []).append(run(tree, args.events, max_events, batch))
    print(f"load after {os.getloadavg()}")
    print(f"{'tree':>5} {'max_events':>10} {'batch':>5} {'cpu s':>7} {'wall s':>7}")
    for max_events, batch in variants:
        for name in trees:
            runs = results[name, max_events, batch]
            cpu = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            print(f"{name:>5} {max_events:>10} {batch:>5} {cpu:7.2f} {wall:7.2f}")


if __name__ == "__main__":
    main()
