"""Index directory listings by the local index's writers through the real `pipeline` command, this tree
against another: how many times the writers list the index directory (the peer files a batch is checked
against, pipeline/localindex/listing.py), and the CPU of the run.

    python bench/index_dir_scans.py --other DIR [--events 200000] [--rounds 3]

Each run is `pipeline run -w 2 --pipeline.worker_type process -b 100` of a file of ``--events`` lines into
``local_index {}`` (a shard per worker). Scans are counted with ``strace -f -e trace=openat`` (the
directory opened with O_DIRECTORY) in one run per tree and round; CPU (os.wait4 user+sys) comes from a
second run without strace. Rounds interleave the trees (the machine is shared); the load is printed.
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

from child_run import measured_run

THIS_TREE = str(Path(__file__).resolve().parent.parent)
CONFIG = """input {{ file {{ path => "{source}" mode => "read" exit_after_read => true sincedb_path => "/dev/null"
                 file_completed_action => "log" file_completed_log_path => "{work}/done.log" }} }}
output {{ local_index {{ }} }}"""


def command(config: Path, data: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline", "run", "-f", str(config), "--path.data", str(data), "--api.enabled",
            "false", "-w", "2", "--pipeline.worker_type", "process", "-b", "100"]


def scans(tree: str, config: Path, work: Path) -> tuple[int, int]:
    """Listings of the index directory in one run, counted by strace, and the batches the workers wrote."""
    data, trace = work / "data", work / "trace"
    shutil.rmtree(data, ignore_errors=True)
    run = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat", "-o", str(trace), *command(config, data)],
                         cwd=tree, env={**os.environ, "PYTHONPATH": tree}, check=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    opened = f'"{data / "index"}", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY'
    batches = sum(int(found) for found in re.findall(r"stopped: (\d+) batches", run.stderr))
    return sum(opened in line for line in trace.read_text().splitlines()), batches


def cpu(tree: str, config: Path, work: Path) -> float:
    shutil.rmtree(work / "data", ignore_errors=True)
    usage, _ = measured_run(command(config, work / "data"), tree, "(local index, 2 process workers)")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--other", required=True, help="the tree to compare with (e.g. a `git archive` of main)")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("strace") is None:
        raise SystemExit("strace is needed to count the directory listings")
    trees = {"other": str(Path(args.other).resolve()), "this": THIS_TREE}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "lines.log"
        source.write_text("".join(f"line {n} of the scan bench w{n % 7}\n" for n in range(args.events)))
        config = work / "p.conf"
        config.write_text(CONFIG.format(source=source, work=work))
        counted: dict[str, list[tuple[int, int]]] = {name: [] for name in trees}
        seconds: dict[str, list[float]] = {name: [] for name in trees}
        print(f"load before: {os.getloadavg()}")
        for _ in range(args.rounds):
            for name, tree in trees.items():
                counted[name].append(scans(tree, config, work))
                seconds[name].append(cpu(tree, config, work))
        print(f"load after: {os.getloadavg()}")
    for name, tree in trees.items():
        print(f"{name} ({tree}): (scans, batches written) {counted[name]}; CPU s "
              f"{[round(s, 2) for s in seconds[name]]}, median {statistics.median(seconds[name]):.2f}")
    print(f"CPU this/other: {statistics.median(seconds['this']) / statistics.median(seconds['other']):.3f}")


if __name__ == "__main__":
    main()
