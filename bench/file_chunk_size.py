"""CPU per event of the file input against its file_chunk_size, through the real `pipeline` command.

    python bench/file_chunk_size.py FILE [--rounds 5] [--sizes 32768,65536,131072,262144,1048576]
                                         [--other DIR] [--args '--queue.max_events 4000']

FILE is read once per run (mode read, exit_after_read) into the null output with one worker. Rounds
interleave the sizes, and with ``--other`` (a directory holding another version's ``pipeline``
package, e.g. from ``git archive``) this tree's runs and that one's (the machine is shared). Per
variant and size it prints the median CPU seconds of the child (os.wait4 user+sys), its ratio to this
tree's first size, the median wall seconds, minor page faults and voluntary context switches.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from child_run import measured_run

CONFIG = ('input {{ file {{ path => "{path}" mode => "read" exit_after_read => true sincedb_path => "/dev/null" '
          'file_completed_action => "log" file_completed_log_path => "/dev/null" file_chunk_size => {size} }} }} '
          'output {{ null {{}} }}')
THIS_TREE = str(Path(__file__).resolve().parent.parent)


def run(tree: str, path: str, size: int, extra: list[str]) -> tuple[float, float, int, int]:
    """CPU seconds (user+sys), wall seconds, minor faults and voluntary context switches of one run."""
    command = [sys.executable, "-m", "pipeline", "run", "-w", "1", *extra, "-e", CONFIG.format(path=path, size=size)]
    usage, wall = measured_run(command, tree, f"for file_chunk_size {size}")
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_minflt, usage.ru_nvcsw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="32768,65536,131072,262144,1048576")
    parser.add_argument("--other", help="directory holding another version's pipeline package")
    parser.add_argument("--args", default="", help="more `pipeline run` arguments, e.g. '--queue.max_events 4000'")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    trees = {"this": THIS_TREE, **({"other": os.path.abspath(args.other)} if args.other else {})}
    results: dict[tuple[str, int], list[tuple[float, float, int, int]]] = {
        (name, size): [] for name in trees for size in sizes}
    for _ in range(args.rounds):
        for size in sizes:
            for name, tree in trees.items():
                results[name, size].append(run(tree, os.path.abspath(args.file), size, args.args.split()))
    base = statistics.median(r[0] for r in results["this", sizes[0]])
    print(f"{'tree':>5} {'chunk':>8} {'cpu s':>7} {'ratio':>6} {'wall s':>7} {'minflt':>8} {'vol csw':>8}")
    for size in sizes:
        for name in trees:
            runs = results[name, size]
            cpu = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            faults = statistics.median(r[2] for r in runs)
            switches = statistics.median(r[3] for r in runs)
            print(f"{name:>5} {size:>8} {cpu:7.2f} {cpu / base:6.3f} {wall:7.2f} {faults:>8.0f} {switches:>8.0f}")


if __name__ == "__main__":
    main()
