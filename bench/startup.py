"""Start-up and shut-down of the real command (issue 15): one-event runs, code trees side by side.

Every figure is a whole child process of ``pipeline``, pinned to one core (``taskset -c 1`` by default):
CPU = user + system time from ``os.wait4``'s rusage (what stays meaningful on a shared machine), wall =
spawn to reap, max RSS = ``ru_maxrss``. Variants:

  file     file input (read mode, one Apache line) → grok %{COMBINEDAPACHELOG} → date → file json_lines
  file-w2  ``file`` with two process workers (``-w 2 --pipeline.worker_type process``, goal 3's set-up)
  index    the same without an output section: the embedded local index (the default path)
  check    ``pipeline check`` of the file config (parse, validate, build nothing)
  version  ``pipeline --version`` (the interpreter, the package and the argument parser)
  help     ``pipeline --help`` (every command's parser)

Each tree (``--trees base=/tmp/su-base this=.``) is put first on PYTHONPATH; the children run in a
scratch folder outside any checkout (``python -m`` puts the working directory first on sys.path).
Bytecode: a private PYTHONPYCACHEPREFIX and one unmeasured warm-up run per tree and variant, as an
installed package has its ``.pyc`` files (this machine sets PYTHONDONTWRITEBYTECODE, which would make
every run compile every module). Rounds interleave trees and variants, the tree order alternating
from round to round, so a busy neighbour hits them all alike. Every run must exit 0 and the file
variant must write its one event with the parsed fields, else the script stops.

    python bench/startup.py --trees base=/tmp/su-base this=. --rounds 15
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

LINE = ('83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/'
        'kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/" '
        '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) '
        'Chrome/32.0.1700.77 Safari/537.36"\n')

INPUT = ('input {{ file {{ path => ["{source}"] mode => "read" exit_after_read => true sincedb_path => "/dev/null" '
         'file_completed_action => "log" file_completed_log_path => "{done}" }} }}\n')
FILTER = ('filter { grok { match => { "message" => "%{COMBINEDAPACHELOG}" } } '
          'date { match => ["timestamp", "dd/MMM/yyyy:HH:mm:ss Z"] } }\n')
OUTPUT = 'output {{ file {{ path => "{out}" codec => json_lines }} }}\n'

VARIANTS = ("file", "file-w2", "index", "check", "version", "help")


@dataclass
class Runs:
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


class Bench:
    def __init__(self, work: Path, core: int) -> None:
        self.work = work
        self.core = core
        self.source = work / "one.log"
        self.source.write_text(LINE)
        self.out = work / "out.json"
        self.data = work / "data"
        self.file_conf = work / "file.conf"
        self.index_conf = work / "index.conf"
        head = INPUT.format(source=self.source, done=work / "done.log")
        self.file_conf.write_text(head + FILTER + OUTPUT.format(out=self.out))
        self.index_conf.write_text(head + FILTER)

    def argv(self, variant: str) -> list[str]:
        run = ["run", "--no-status", "--api.enabled", "false", "--path.data", str(self.data)]
        return {
            "file": [*run, "-f", str(self.file_conf)],
            "file-w2": [*run, "-f", str(self.file_conf), "-w", "2", "--pipeline.worker_type", "process"],
            "index": [*run, "-f", str(self.index_conf)],
            "check": ["check", "-f", str(self.file_conf)],
            "version": ["--version"],
            "help": ["--help"],
        }[variant]

    def env(self, tree: Path) -> dict[str, str]:
        env = dict(os.environ, PYTHONPATH=str(tree), PYTHONPYCACHEPREFIX=str(self.work / "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    def run(self, tree: Path, variant: str) -> tuple[float, float, float]:
        """One child: (CPU s, wall s, max RSS MB); fails loudly on a bad run."""
        self.out.unlink(missing_ok=True)
        shutil.rmtree(self.data, ignore_errors=True)
        log = self.work / "log.txt"
        with log.open("wb") as handle:
            started = time.perf_counter()
            child = subprocess.Popen(["taskset", "-c", str(self.core), sys.executable, "-m", "pipeline",
                                      *self.argv(variant)], env=self.env(tree), cwd=self.work,
                                     stdout=handle, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(child.pid, 0)
            wall = time.perf_counter() - started
            child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            sys.exit(f"{tree} {variant}: exit {child.returncode}\n{log.read_text()[-2000:]}")
        if variant.startswith("file"):
            events = [json.loads(line) for line in self.out.read_text().splitlines()]
            if len(events) != 1 or events[0].get("source", {}).get("address") != "83.149.9.216":
                sys.exit(f"{tree} file: unexpected output {events!r}")
        return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024


def summary(runs: Runs) -> str:
    return (f"CPU median {statistics.median(runs.cpu):.3f} least {min(runs.cpu):.3f} s | "
            f"wall median {statistics.median(runs.wall):.3f} least {min(runs.wall):.3f} s | "
            f"max RSS median {statistics.median(runs.rss_mb):.1f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", nargs="+", required=True, metavar="NAME=DIR",
                        help="code trees to compare, the first is the baseline of the ratios")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (10)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--core", type=int, default=1, help="the core the children are pinned to (1)")
    args = parser.parse_args()
    trees = {}
    for spec in args.trees:
        name, _, folder = spec.partition("=")
        if not folder or not (Path(folder) / "pipeline" / "__init__.py").is_file():
            parser.error(f"--trees: {spec!r} is not NAME=DIR of a checkout")
        trees[name] = Path(folder).resolve()
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}")

    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        bench = Bench(Path(tmp), args.core)
        for tree in trees.values():  # warm-up: .pyc files written, not measured
            for variant in variants:
                bench.run(tree, variant)
        results = {(name, v): Runs() for name in trees for v in variants}
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; start: {load()}")
        for round_no in range(args.rounds):
            order = list(trees.items())
            if round_no % 2:
                order.reverse()
            for variant in variants:
                for name, tree in order:
                    cpu, wall, rss = bench.run(tree, variant)
                    runs = results[(name, variant)]
                    runs.cpu.append(cpu)
                    runs.wall.append(wall)
                    runs.rss_mb.append(rss)
        print(f"end: {load()}; {args.rounds} rounds, pinned to core {args.core}")
        base = next(iter(trees))
        for variant in variants:
            print(f"\n{variant}:")
            for name in trees:
                runs = results[(name, variant)]
                line = f"  {name:8s} {summary(runs)}"
                if name != base:
                    ref = results[(base, variant)]
                    line += (f" | CPU {statistics.median(runs.cpu) / statistics.median(ref.cpu):.3f}x median, "
                             f"{min(runs.cpu) / min(ref.cpu):.3f}x least of {base}")
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
