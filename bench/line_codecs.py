"""The line-based codecs (line, json_lines, graphite, edn_lines) decoding through the real command.

Runs ``python -m pipeline run -e 'input { stdin { codec => C } } output { null {} }'`` with N generated
lines on stdin, as a child pinned to one core (``taskset -c``), for each tree (``PYTHONPATH``) in
interleaved rounds, and reports the child's CPU time (user + system from ``os.wait4``) per event and
the ratio to the first tree. Every run must report all N events out, else the script stops. Both trees
run with a private ``PYTHONPYCACHEPREFIX`` and one unmeasured warm-up run each, so neither pays for
compiling its modules (an installed package has its ``.pyc`` files).

    python bench/line_codecs.py --trees base=/tmp/old-checkout this=. --events 300000 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STOPPED = re.compile(r"pipeline main stopped: (\d+) accepted, \d+ in, \d+ filtered, (\d+) out")


def lines(codec: str, count: int) -> bytes:
    """``count`` newline-terminated lines in the codec's format, each different."""
    if codec == "json_lines":
        row = '{{"message": "GET /item/{n} 200", "host": "web-{h}", "bytes": {n}}}\n'
    elif codec == "graphite":
        row = "servers.web-{h}.requests {n} 1700000000\n"
    elif codec == "edn_lines":
        row = '{{:message "GET /item/{n} 200" :host "web-{h}" :bytes {n}}}\n'
    else:
        row = "2026-12-03T06:00:00Z web-{h} app[123]: GET /item/{n} 200 served\n"
    return "".join(row.format(n=n, h=n % 7) for n in range(count)).encode()


def run_once(tree: Path, codec: str, data: Path, work: Path, cpu: str) -> tuple[float, int]:
    """CPU seconds of one run, and the events it reports out."""
    data_dir = work / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    config = f"input {{ stdin {{ codec => {codec} }} }} output {{ null {{}} }}"
    command = ["taskset", "-c", cpu, sys.executable, "-m", "pipeline", "run", "-e", config,
               "--path.data", str(data_dir), "--api.enabled", "false", "--no-status"]
    with data.open("rb") as stdin:
        env = dict(os.environ, PYTHONPATH=str(tree), PYTHONPYCACHEPREFIX=str(work / "pycache" / tree.name))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        child = subprocess.Popen(command, env=env, cwd=work, stdin=stdin,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output = child.stdout.read() if child.stdout else ""
        _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{tree} {codec}: exit {os.waitstatus_to_exitcode(status)}:\n{output[-3000:]}")
    found = STOPPED.findall(output)
    return usage.ru_utime + usage.ru_stime, int(found[-1][1]) if found else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trees", nargs="+", default=[f"this={REPO}"],
                        help="NAME=PATH of the trees to compare (PYTHONPATH of the child); the first is the base")
    parser.add_argument("--codecs", nargs="+", default=["line", "json_lines", "graphite", "edn_lines"])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cpu", default="0", help="taskset CPU list for the child")
    args = parser.parse_args()
    trees = [(t.split("=", 1)[0], Path(t.split("=", 1)[1]).resolve()) for t in args.trees]
    work = Path(tempfile.mkdtemp(prefix="line-codecs-"))
    try:
        inputs = {}
        for codec in args.codecs:
            inputs[codec] = work / f"{codec}.txt"
            inputs[codec].write_bytes(lines(codec, args.events))
        print(f"{args.events} events per run, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        warm_up = work / "warm-up.txt"
        warm_up.write_bytes(lines("line", 1))
        for _, tree in trees:
            run_once(tree, "line", warm_up, work, args.cpu)
        cpu: dict[tuple[str, str], list[float]] = {}
        for round_no in range(1, args.rounds + 1):
            for codec in args.codecs:
                for name, tree in trees:
                    seconds, out = run_once(tree, codec, inputs[codec], work, args.cpu)
                    if out != args.events:
                        sys.exit(f"{name} {codec}: {out} events out of {args.events}")
                    cpu.setdefault((name, codec), []).append(seconds)
                    print(f"round {round_no} {name:>6} {codec:<10} cpu {seconds:6.2f}s "
                          f"load {os.getloadavg()[0]:.2f}", flush=True)
        print(f"\nmedian CPU (load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}):")
        base = trees[0][0]
        for codec in args.codecs:
            row = [f"{codec:<10}"]
            for name, _ in trees:
                median = statistics.median(cpu[(name, codec)])
                ratio = median / statistics.median(cpu[(base, codec)])
                row.append(f"{name} {median:6.2f}s {median / args.events * 1e6:5.1f} µs/ev ({ratio:.3f})")
            print("  ".join(row))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
