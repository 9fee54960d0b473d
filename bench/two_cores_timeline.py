"""Timeline of one `pipeline run` on the default path (issue 15, goal 3): where two cores sit idle.

Runs the job of bench/two_cores.py once (default: `-w 2 --pipeline.worker_type process`) and samples
every process of the tree from /proc every 10 ms (CPU ticks of the main process, each of its threads,
the fork server and each worker process). Prints, per time slice, the CPU each used, so the start
(before workers take events), idle gaps and the tail (one worker still busy, the other done) show; and
the log lines with the moment they were written. The summary splits the run's wall time by how many
cores were busy: 2 × wall − CPU is what two cores left unused.

    python bench/two_cores_timeline.py                       # 200,000 lines, 0.1 s slices
    python bench/two_cores_timeline.py --slice 0.25 --flags -w 1      # another variant
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from two_cores import CONFIG, REPO, compile_tree, count_stored, make_input, python_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.processes import children, descendants

TICK = os.sysconf("SC_CLK_TCK")


def _ticks(stat: Path) -> tuple[str, int] | None:
    """(name, utime + stime ticks) of a /proc stat file, None once it is gone."""
    try:
        text = stat.read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1:text.rindex(")")]
    fields = text.rsplit(")", 1)[1].split()
    return name, int(fields[11]) + int(fields[12])


def _delays(pid: int) -> dict[str, tuple[float, float]]:
    """Per process of the tree: (seconds on a CPU, seconds runnable but waiting for one) from schedstat."""
    found: dict[str, tuple[float, float]] = {}
    for label, number in [("main", pid), *((f"child:{c}" if c in children(pid) else f"worker:{c}", c)
                                           for c in descendants(pid))]:
        try:
            on_cpu, waiting = Path(f"/proc/{number}/schedstat").read_text().split()[:2]
        except (OSError, ValueError):
            continue
        if label == "main":  # the process's line covers its main thread only: add every thread
            on_cpu, waiting = "0", "0"
            for task in Path(f"/proc/{number}/task").iterdir():
                try:
                    a, b = (task / "schedstat").read_text().split()[:2]
                except (OSError, ValueError):
                    continue
                on_cpu, waiting = str(int(on_cpu) + int(a)), str(int(waiting) + int(b))
        found[label] = (int(on_cpu) / 1e9, int(waiting) / 1e9)
    return found


def _sample(pid: int) -> dict[str, int]:
    """Cumulative CPU ticks by label: the main process's threads (by name), then each descendant."""
    found: dict[str, int] = {}
    direct = set(children(pid))
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        got = _ticks(task / "stat")
        if got is not None:
            label = f"main:{got[0]}"
            found[label] = found.get(label, 0) + got[1]
    for child in descendants(pid):
        got = _ticks(Path(f"/proc/{child}/stat"))
        if got is not None:
            # the main process's children: the fork server (and multiprocessing's resource tracker);
            # their children: the worker processes
            found[f"{'child' if child in direct else 'worker'}:{child}"] = got[1]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--slice", type=float, default=0.1, help="seconds per printed time slice")
    parser.add_argument("--tree", type=Path, default=REPO, help="checkout to run (default: this one)")
    parser.add_argument("--flags", nargs=argparse.REMAINDER,
                        default=["-w", "2", "--pipeline.worker_type", "process"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="timeline-") as tmp:
        folder = Path(tmp)
        log = make_input(folder, args.events, "ordered")
        cache = folder / "pycache"
        compile_tree(args.tree, cache)
        data = folder / "run"
        data.mkdir()
        config = data / "pipeline.conf"
        config.write_text(CONFIG.format(path=log, done=data / "done.log", sincedb=data / "sincedb"))
        load = os.getloadavg()[0]
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run", "-f", str(config), "--path.data",
                                 str(data / "data"), "--api.enabled", "false", "--log.level", "info", *args.flags],
                                cwd=args.tree, env=python_env(args.tree, cache), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        lines: list[tuple[float, str]] = []

        def read_log() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                lines.append((time.perf_counter() - started, line.rstrip()))

        reader = threading.Thread(target=read_log, daemon=True)
        reader.start()
        samples: list[tuple[float, dict[str, int]]] = []
        delays: dict[str, tuple[float, float]] = {}
        while proc.poll() is None:
            samples.append((time.perf_counter() - started, _sample(proc.pid)))
            delays.update(_delays(proc.pid))
            time.sleep(0.01)
        wall = time.perf_counter() - started
        reader.join(timeout=5)
        stored = count_stored(data / "data" / "index")
    if proc.returncode != 0 or stored != args.events:
        sys.exit(f"run failed (exit {proc.returncode}, {stored} of {args.events} stored):\n"
                 + "\n".join(text for _, text in lines[-20:]))
    labels = sorted({label for _, sample in samples for label in sample})
    busy = [label for label in labels if max(s.get(label, 0) for _, s in samples) > 0]
    print(f"{args.events:,} events, flags {' '.join(args.flags)}, wall {wall:.2f} s, load {load:.2f}; CPU s per "
          f"{args.slice:g} s slice:")
    print("   t  " + " ".join(f"{label[:14]:>14s}" for label in busy) + "      sum")
    edges = [args.slice * i for i in range(int(wall / args.slice) + 2)]
    last = {label: 0 for label in busy}
    cores = [0.0, 0.0, 0.0]  # seconds of wall with <0.5, 0.5-1.5, >1.5 cores busy
    for edge in edges[1:]:
        upto = [s for t, s in samples if t <= edge]
        current = upto[-1] if upto else {}
        used = {label: max(0, current.get(label, last[label]) - last[label]) / TICK for label in busy}
        for label in busy:
            last[label] = max(last[label], current.get(label, last[label]))
        total = sum(used.values())
        cores[0 if total < 0.5 * args.slice else 1 if total < 1.5 * args.slice else 2] += args.slice
        print(f"{edge:5.2f} " + " ".join(f"{used[label]:14.2f}" for label in busy) + f" {total:8.2f}")
    cpu = sum(last.values()) / TICK
    print(f"\nCPU sampled {cpu:.2f} s in {wall:.2f} s wall: two cores left {2 * wall - cpu:.2f} core-s unused "
          f"({1 - cpu / (2 * wall):.0%}); slices with ~0 / ~1 / ~2 cores busy: {cores[0]:.1f} / {cores[1]:.1f} / "
          f"{cores[2]:.1f} s")
    print("\nper process (schedstat, last sample): seconds on a CPU / runnable but waiting for a CPU:")
    for label, (on_cpu, waiting) in sorted(delays.items()):
        print(f"  {label:16s} {on_cpu:6.2f} / {waiting:5.2f}")
    print("\nlog:")
    for moment, text in lines:
        print(f"{moment:6.2f} {text[:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
