"""The default path through the real command: file (read mode) → grok COMBINEDAPACHELOG → date → local index.

Runs ``python -m pipeline run -f CONF`` as a child pinned to one core (``taskset -c 0``) on N Apache lines
(``$PIPELINE_SHARED_DATA/access/apache_logs`` repeated, by default with its timestamps rewritten into time
order: see bench/apache_input.py), for each tree (``PYTHONPATH``) and ``--time-order`` in interleaved rounds, and reports events per CPU-second of the child (user + system from ``os.wait4``) and wall clock.
The same config with ``output { null {} }`` gives the rest of the pipeline, so the local index's share of
the CPU is ``(cpu(local) - cpu(null)) / cpu(local)``.

    python bench/default_path.py                                   # this tree, 200,000 events, 3 rounds
    python bench/default_path.py --trees main=../main this=.       # a baseline checkout vs this tree
    python bench/default_path.py --time-order repeat ordered       # both input orders, same rounds
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from apache_input import CorpusMissing, add_line_rate_argument, add_time_order_argument, write_input

REPO = Path(__file__).resolve().parents[1]

CONFIG = """input {{ file {{ path => "{data}" mode => "read" exit_after_read => true sincedb_path => "/dev/null"
                 file_completed_action => "log" file_completed_log_path => "/dev/null" }} }}
filter {{
  grok {{ match => {{ "message" => "%{{COMBINEDAPACHELOG}}" }} }}
  date {{ match => [ "timestamp", "dd/MMM/yyyy:HH:mm:ss Z" ] }}
}}
{output}
"""
OUTPUTS = {"local_index": "", "null": "output { null {} }"}
STOPPED = re.compile(r"pipeline main stopped: (\d+) accepted, \d+ in, \d+ filtered, (\d+) out")


@dataclass
class Run:
    cpu: float
    wall: float
    events: int


def indexed_docs(data_dir: Path) -> int:
    total = 0
    for path in sorted((data_dir / "index").glob("*.sqlite")):
        conn = sqlite3.connect(path)
        try:
            total += conn.execute("SELECT count(*) FROM docs").fetchone()[0]
        finally:
            conn.close()
    return total


def run_once(tree: Path, config: Path, data_dir: Path, cpu: str) -> Run:
    shutil.rmtree(data_dir, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(tree))
    command = ["taskset", "-c", cpu, sys.executable, "-m", "pipeline", "run", "-f", str(config),
               "--path.data", str(data_dir), "--api.enabled", "false", "--no-status"]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=data_dir.parent, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"{' '.join(command)} exited with {child.returncode}:\n{output[-3000:]}")
    found = STOPPED.findall(output)
    out = int(found[-1][1]) if found else -1
    return Run(usage.ru_utime + usage.ru_stime, wall, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trees", nargs="+", default=[f"this={REPO}"],
                        help="NAME=PATH of the trees to compare (PYTHONPATH of the child); default: this "
                             "checkout alone, so the script runs wherever it is")
    parser.add_argument("--outputs", nargs="+", default=list(OUTPUTS), choices=list(OUTPUTS))
    parser.add_argument("--cpu", default="0", help="taskset CPU list for the child")
    add_time_order_argument(parser, several=True)
    add_line_rate_argument(parser)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="default-path-"))
    try:
        configs: dict[tuple[str, str], Path] = {}
        for order in args.time_order:
            data = work / f"access-{order}.log"
            try:
                write_input(data, args.events, order, args.lines_per_second)
            except CorpusMissing as exc:
                sys.exit(str(exc))
            for name, output in OUTPUTS.items():
                configs[(name, order)] = work / f"{name}-{order}.conf"
                configs[(name, order)].write_text(CONFIG.format(data=data, output=output), encoding="utf-8")
        # With several orders each tree is reported once per order, named TREE/ORDER.
        trees = [(t.split("=", 1)[0], Path(t.split("=", 1)[1]).resolve()) for t in args.trees]
        if len(args.time_order) > 1:
            runs = [(f"{name}/{order}", tree, order) for name, tree in trees for order in args.time_order]
        else:
            runs = [(name, tree, args.time_order[0]) for name, tree in trees]
        print(f"{args.events} events, time order {' '.join(args.time_order)}, load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}, "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
        results: dict[tuple[str, str], list[Run]] = {}
        for round_no in range(1, args.rounds + 1):
            for output in args.outputs:
                for name, tree, order in runs:
                    data_dir = work / "data"
                    run = run_once(tree, configs[(output, order)], data_dir, args.cpu)
                    if output == "local_index":
                        run.events = indexed_docs(data_dir)
                    if run.events != args.events:
                        sys.exit(f"{name} {output}: {run.events} events out of {args.events}")
                    results.setdefault((name, output), []).append(run)
                    print(f"round {round_no} {name:>14} {output:<11} cpu {run.cpu:6.2f}s "
                          f"{args.events / run.cpu:8,.0f} ev/s-cpu {run.cpu / args.events * 1e6:5.1f} µs/ev  "
                          f"wall {run.wall:6.2f}s {args.events / run.wall:8,.0f} ev/s  "
                          f"load {os.getloadavg()[0]:.2f}", flush=True)
        print(f"\nmedians (load average now {os.getloadavg()[0]:.2f}):")
        for name, _, _ in runs:
            line = [f"{name:>14}"]
            cpu = {}
            for output in args.outputs:
                runs = results[(name, output)]
                cpu[output] = statistics.median(r.cpu for r in runs)
                wall = statistics.median(r.wall for r in runs)
                line.append(f"{output} {args.events / cpu[output]:,.0f} ev/s-cpu "
                            f"({cpu[output] / args.events * 1e6:.1f} µs) wall {args.events / wall:,.0f} ev/s")
            if "null" in cpu and "local_index" in cpu:
                share = (cpu["local_index"] - cpu["null"]) / cpu["local_index"]
                line.append(f"local index share {share:.0%}")
            print("  ".join(line))
        if len(runs) == 2 and "local_index" in args.outputs:
            first = statistics.median(r.cpu for r in results[(runs[0][0], "local_index")])
            second = statistics.median(r.cpu for r in results[(runs[1][0], "local_index")])
            print(f"{runs[1][0]} / {runs[0][0]} on the default path: {first / second:.2f}× events per CPU-second")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
