"""Benchmark: one core against two through the real `pipeline run` on the default path (issue 15, goal 3).

The job: the file input in read mode over N Apache combined lines (../shared/data/access/apache_logs
repeated, by default in time order: --time-order, see bench/apache_input.py) → grok COMBINEDAPACHELOG → date → the default output (the local index under --path.data).
Variants run in interleaved rounds, each a fresh `pipeline run` with a fresh --path.data:

    one-core        taskset -c 0 pipeline run -w 1                                  (threads, one core)
    two-procs       pipeline run -w 2 --pipeline.worker_type process               (both cores)
    two-threads     pipeline run -w 2                                               (both cores, threads)
    one-proc        taskset -c 0 pipeline run -w 1 --pipeline.worker_type process  (the process path's CPU cost)
    two-apart       two independent one-core runs at once, `taskset -c 0` and `taskset -c 1`, each on half
                    of the lines, each with its own --path.data: no coordination at all, so the most any
                    two-core design of this pipeline can reach on this machine (cores that share caches,
                    memory bandwidth or a host's SMT siblings run each copy slower than one alone)

For each run: wall time from start to exit, CPU time of the whole process tree (getrusage of the
children), and the CPU of the main process alone and of the worker processes (sampled from /proc every
50 ms, so a last slice may be missing). Events/s = events / wall. The machine is shared: the load average
is printed with every round, and CPU per event is the steadier figure.

Modules run from their compiled bytecode, as an installed package has it: this machine sets
PYTHONDONTWRITEBYTECODE, and without a bytecode cache every process (the main one and each worker
process) would compile every module from source at start (+0.1 s of CPU per process, so more for more
processes); the cache lives in the scratch folder and is filled before the first round (--no-pyc: as before).

    python bench/two_cores.py                        # 200,000 lines, 3 rounds
    python bench/two_cores.py --events 100000 --rounds 5 --variants one-core,two-procs
    python bench/two_cores.py --baseline /tmp/main-copy     # adds main's two-procs to every round
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from apache_input import CorpusMissing, add_time_order_argument, write_input

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.processes import descendants

REPO = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")

VARIANTS = {
    "one-core": (["taskset", "-c", "0"], ["-w", "1"]),
    "two-procs": ([], ["-w", "2", "--pipeline.worker_type", "process"]),
    "one-proc": (["taskset", "-c", "0"], ["-w", "1", "--pipeline.worker_type", "process"]),
    "two-threads": ([], ["-w", "2"]),
    "two-apart": ([], ["-w", "1"]),  # run by run_apart: two one-core runs, pinned to core 0 and core 1
}

OUTPUTS = {"local_index": "", "null": "output { null {} }\n"}
CONFIG = """input {{ file {{ path => "{path}" mode => "read" exit_after_read => true
  file_completed_action => "log" file_completed_log_path => "{done}" sincedb_path => "{sincedb}" }} }}
filter {{
  grok {{ match => {{ "message" => "%{{COMBINEDAPACHELOG}}" }} }}
  date {{ match => ["timestamp", "dd/MMM/yyyy:HH:mm:ss Z"] }}
}}
"""


def make_input(folder: Path, events: int, order: str) -> Path:
    target = folder / "access.log"
    try:
        write_input(target, events, order)
    except CorpusMissing as exc:
        sys.exit(str(exc))
    return target


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def python_env(repo: Path, cache: Path | None) -> dict[str, str]:
    """The environment of a run of ``repo``: its modules first; with ``cache``, bytecode kept there."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    if cache is not None:
        env["PYTHONPYCACHEPREFIX"] = str(cache)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_tree(repo: Path, cache: Path) -> None:
    """Fill the bytecode cache for ``repo``'s package before any measured run."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(repo / "pipeline")], env=python_env(repo, cache),
                   check=True, stdout=subprocess.DEVNULL)


def _start(prefix: list[str], flags: list[str], data: Path, log: Path, output: str, repo: Path,
           env: dict[str, str]) -> subprocess.Popen[bytes]:
    config = data / "pipeline.conf"
    config.write_text(CONFIG.format(path=log, done=data / "done.log", sincedb=data / "sincedb") + OUTPUTS[output])
    return subprocess.Popen([*prefix, sys.executable, "-m", "pipeline", "run", "-f", str(config), "--path.data",
                             str(data / "data"), "--api.enabled", "false", "--log.level", "info", *flags],
                            cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run_apart(folder: Path, halves: tuple[Path, Path], events: int, output: str, repo: Path = REPO,
              cache: Path | None = None) -> dict[str, float]:
    """Two independent one-core runs at once, one per core, each on its half of the lines."""
    env = python_env(repo, cache)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    runs = []
    for core, half in enumerate(halves):
        data = Path(tempfile.mkdtemp(prefix=f"two-apart-{core}-", dir=folder))
        runs.append((data, _start(["taskset", "-c", str(core)], ["-w", "1"], data, half, output, repo, env)))
    stored = 0
    for data, proc in runs:
        _, stderr = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"two-apart: pipeline run failed ({proc.returncode}):\n{stderr.decode()[-3000:]}")
        stored += count_stored(data / "data" / "index") if output == "local_index" else events // 2
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if output == "local_index" and stored != events:
        sys.exit(f"two-apart: {stored} events in the two local indexes, expected {events}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "main": cpu, "workers": 0.0, "blocked": 0.0}


def split_in_halves(log: Path) -> tuple[Path, Path]:
    """The input's first and second half of lines, as two files (two-apart's inputs)."""
    lines = log.read_bytes().splitlines(keepends=True)
    first, second = log.with_name("first-half.log"), log.with_name("second-half.log")
    first.write_bytes(b"".join(lines[:len(lines) // 2]))
    second.write_bytes(b"".join(lines[len(lines) // 2:]))
    return first, second


def run_once(variant: str, folder: Path, log: Path, events: int, output: str,
             repo: Path = REPO, cache: Path | None = None) -> dict[str, float]:
    prefix, flags = VARIANTS[variant.removesuffix("@baseline")]
    data = Path(tempfile.mkdtemp(prefix=f"{variant}-", dir=folder))
    env = python_env(repo, cache)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = _start(prefix, flags, data, log, output, repo, env)
    main_cpu, workers_cpu = 0.0, {}
    while proc.poll() is None:
        sample = _cpu_of(proc.pid)
        if sample >= 0:
            main_cpu = sample
        for child in descendants(proc.pid):
            cpu = _cpu_of(child)
            if cpu >= 0:
                workers_cpu[child] = cpu
        time.sleep(0.05)
    wall = time.perf_counter() - started
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{variant}: pipeline run failed ({proc.returncode}):\n{stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stored = count_stored(data / "data" / "index") if output == "local_index" else events
    if stored != events:
        sys.exit(f"{variant}: {stored} events in the local index, expected {events}")
    # Each worker process's own account (logged when it stops): the time neither on CPU nor waiting for
    # batches is waiting for a CPU, for outputs or for locks (the local index's write lock, before shards).
    spent = [(float(w), float(o)) for w, o in re.findall(r"pipeline-worker-\d+ stopped: \d+ batches in ([\d.]+)s: "
                                                        r".*? other \(waiting for a CPU, outputs, locks\) ([\d.]+)s",
                                                        stderr)]
    blocked = sum(o for _, o in spent) / sum(w for w, _ in spent) if spent else 0.0
    return {"wall": wall, "cpu": cpu, "main": main_cpu, "workers": sum(workers_cpu.values()), "blocked": blocked}


def count_stored(index: Path) -> int:
    """Rows in every daily local-index file (worker processes each write their own shard, `<index>#<n>`)."""
    total = 0
    for path in sorted(index.glob("*.sqlite")):
        with sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True) as db:
            tables = {name for (name,) in db.execute("select name from sqlite_master where type='table'")}
            table = "events" if "events" in tables else "docs" if "docs" in tables else None
            if table is None:
                sys.exit(f"{path}: no events table among {sorted(tables)}")
            total += db.execute(f"select count(*) from {table}").fetchone()[0]  # table name from a fixed list
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default="one-core,two-procs",
                        help=f"comma-separated, in round order: {', '.join(VARIANTS)}")
    parser.add_argument("--output", choices=list(OUTPUTS), default="local_index",
                        help="local_index: the default output (the product's default path); null: filters only")
    parser.add_argument("--baseline", type=Path,
                        help="another checkout (e.g. a copy of main): its two-procs run as two-procs@baseline, "
                             "in the same rounds")
    parser.add_argument("--no-pyc", action="store_true",
                        help="no bytecode cache: every process compiles the modules from source (figures before "
                             "2026-12-03 10:00 UTC were measured so)")
    add_time_order_argument(parser)
    args = parser.parse_args()
    variants = args.variants.split(",") + (["two-procs@baseline"] if args.baseline else [])
    unknown = [v for v in variants if v.removesuffix("@baseline") not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)}")
    results: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="two-cores-") as tmp:
        folder = Path(tmp)
        log = make_input(folder, args.events, args.time_order)
        halves = split_in_halves(log) if "two-apart" in variants else None
        cache = None if args.no_pyc else folder / "pycache"
        if cache is not None:
            for tree in {REPO, *([args.baseline] if args.baseline else [])}:
                compile_tree(tree, cache)
        for number in range(1, args.rounds + 1):
            for variant in variants:
                load = os.getloadavg()[0]
                repo = args.baseline if variant.endswith("@baseline") else REPO
                if variant == "two-apart" and halves is not None:
                    figures = run_apart(folder, halves, args.events, args.output, repo, cache)
                else:
                    figures = run_once(variant, folder, log, args.events, args.output, repo, cache)
                results[variant].append(figures)
                print(f"round {number} {variant:18s}: {args.events / figures['wall']:8,.0f} events/s wall "
                      f"({figures['wall']:.2f} s), CPU {figures['cpu'] / args.events * 1e6:5.1f} µs/event "
                      f"(main {figures['main'] / args.events * 1e6:4.1f}, workers "
                      f"{figures['workers'] / args.events * 1e6:4.1f}), workers blocked {figures['blocked']:4.0%}, "
                      f"load {load:.2f}", flush=True)
    print(f"\n{args.events:,} events per run ({args.time_order}), output {args.output}, {args.rounds} rounds, "
          f"{os.cpu_count()} cores, {'no bytecode cache' if args.no_pyc else 'bytecode cached'}, "
          f"load average now {os.getloadavg()[0]:.2f}")
    base = max(args.events / r["wall"] for r in results[variants[0]])
    base_cpu = min(r["cpu"] for r in results[variants[0]])
    for variant in variants:
        best = max(args.events / r["wall"] for r in results[variant])
        cpu = min(r["cpu"] for r in results[variant])
        blocked = sorted(r["blocked"] for r in results[variant])[len(results[variant]) // 2]
        # What two idle cores would give, from CPU time alone (the load of other users cancels out): a
        # variant using both cores reaches at most 2 × (the first variant's CPU / its own CPU).
        ceiling = f", two-core ceiling {2 * base_cpu / cpu:.2f}×" if variant.startswith(("two-procs", "two-apart")) else ""
        print(f"{variant:18s}: best {best:8,.0f} events/s = {best / base:.2f}× {variants[0]}; "
              f"least CPU {cpu / args.events * 1e6:.1f} µs/event ({args.events / cpu:,.0f} events per CPU-second"
              f"{ceiling}); workers blocked (median) {blocked:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
