"""Grok per event through the real command: file (read mode) → grok → date → null output, on one core.

Runs ``pipeline run`` as a child process pinned to one core (``taskset -c 0``) over N Apache lines
(the 10,000 of ``$PIPELINE_SHARED_DATA/access/apache_logs`` repeated), with grok
``%{COMBINEDAPACHELOG}`` in ECS mode (the default) and in legacy mode, for two code trees side by side:
``--baseline`` (required: today's checkout) and ``--candidate`` (default this checkout), each put
first on PYTHONPATH. Variants run in interleaved rounds; the figure is the child's CPU time (user +
system from ``os.wait4``'s rusage) → events per CPU-second, which stays meaningful on a shared machine;
wall time is printed too. Every run must report all N events out, else the script fails.

Bytecode: both trees run with a private ``PYTHONPYCACHEPREFIX`` (in the temporary folder, nothing is
written into the trees) and one unmeasured warm-up run each, as an installed package has its
``.pyc`` files; the environment's PYTHONDONTWRITEBYTECODE would otherwise make every run compile
all modules again (~0.3 s of CPU per run, the same for both). A one-event run of each tree gives
the start-up CPU, printed so that per-event figures net of it can be derived.

    PIPELINE_SHARED_DATA=/work/shared/data python bench/grok_null.py --baseline ../main --events 200000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from apache_input import CorpusMissing, add_time_order_argument
from apache_input import write_input as write_apache_input

REPO = Path(__file__).resolve().parents[1]

CONFIG = """\
input {{ file {{ path => "{path}" mode => read exit_after_read => true sincedb_path => "/dev/null"
  file_completed_action => log file_completed_log_path => "/dev/null" }} }}
filter {{
  grok {{ match => {{ "message" => "%{{COMBINEDAPACHELOG}}" }}{ecs} }}
  date {{ match => ["timestamp", "dd/MMM/yyyy:HH:mm:ss Z"] }}
}}
output {{ null {{}} }}
"""
MODES = {  # name → the grok option (both modes capture the date into "timestamp")
    "ecs": "",
    "legacy": " ecs_compatibility => disabled",
}
_OUT = re.compile(r"(\d+) out\b")


def write_input(folder: Path, events: int, order: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "apache.log"
    try:
        write_apache_input(path, events, order)
    except CorpusMissing as exc:
        sys.exit(str(exc))
    return path


def run_once(tree: Path, config: Path, events: int, cache: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one ``pipeline run``; exits if not every event came out."""
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONPYCACHEPREFIX=str(cache / tree.name))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = ["taskset", "-c", "0", sys.executable, "-m", "pipeline", "run", "-f", str(config), "--no-status"]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=config.parent)
    assert child.stderr is not None
    log = child.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    found = _OUT.findall(log)
    if child.returncode != 0 or not found or int(found[-1]) != events:
        sys.exit(f"run of {tree} failed (exit {child.returncode}, out {found[-1:]} of {events}):\n{log[-2000:]}")
    return usage.ru_utime + usage.ru_stime, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, required=True,
                        help="today's tree (a checkout of main) to compare against; no default, as no path "
                             "is the same on every machine")
    parser.add_argument("--candidate", type=Path, default=REPO, help="the tree under test")
    parser.add_argument("--modes", nargs="+", choices=sorted(MODES), default=["ecs", "legacy"])
    add_time_order_argument(parser)
    args = parser.parse_args()
    if shutil.which("taskset") is None:
        sys.exit("taskset not found (util-linux)")
    trees = {"today": args.baseline.resolve(), "candidate": args.candidate.resolve()}
    cpu: dict[tuple[str, str], list[float]] = {}
    wall: dict[tuple[str, str], list[float]] = {}
    print(f"{args.events:,} events, {args.rounds} interleaved rounds, load average {os.getloadavg()} at start")
    with tempfile.TemporaryDirectory(prefix="grok_null_") as tmp:
        folder = Path(tmp)
        cache = folder / "pycache"
        data = write_input(folder, args.events, args.time_order)
        configs = {}
        for mode in args.modes:
            configs[mode] = folder / f"{mode}.conf"
            configs[mode].write_text(CONFIG.format(path=data, ecs=MODES[mode]), encoding="utf-8")
        one = folder / "one.conf"
        one.write_text(CONFIG.format(path=write_input(folder / "one", 1, args.time_order), ecs=""), encoding="utf-8")
        startup = {}
        for name, tree in trees.items():
            run_once(tree, one, 1, cache)  # warm-up: writes the bytecode cache
            startup[name] = min(run_once(tree, one, 1, cache)[0] for _ in range(3))
            print(f"  start-up (one event) {name:9s} cpu {startup[name]:.2f}s")
        for round_number in range(args.rounds):
            order = list(trees) if round_number % 2 == 0 else list(reversed(trees))
            for mode in args.modes:
                for name in order:
                    seconds, elapsed = run_once(trees[name], configs[mode], args.events, cache)
                    cpu.setdefault((mode, name), []).append(seconds)
                    wall.setdefault((mode, name), []).append(elapsed)
                    print(f"  round {round_number + 1} {mode:6s} {name:9s} cpu {seconds:6.2f}s "
                          f"({args.events / seconds:8,.0f} ev/CPU-s) wall {elapsed:6.2f}s", flush=True)
    print(f"best round per variant (load average {os.getloadavg()} at the end):")
    for mode in args.modes:
        best = {name: min(cpu[(mode, name)]) for name in trees}
        for name in trees:
            print(f"  {mode:6s} {name:9s} {args.events / best[name]:8,.0f} events per CPU-second "
                  f"({best[name] / args.events * 1e6:5.1f} µs/event), wall best "
                  f"{args.events / min(wall[(mode, name)]):8,.0f} events/s")
        paired = sorted(a / b for a, b in zip(cpu[(mode, "today")], cpu[(mode, "candidate")], strict=True))
        print(f"  {mode:6s} candidate / today = {best['today'] / best['candidate']:.2f}x (CPU, best rounds); net of "
              f"start-up {(best['today'] - startup['today']) / (best['candidate'] - startup['candidate']):.2f}x; "
              f"round by round {paired[0]:.2f}-{paired[-1]:.2f}x (median {paired[len(paired) // 2]:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
