"""One benchmark run of a child process, measured by the kernel: its resource usage (``os.wait4``) and
wall clock. Shared by the benchmarks that time `pipeline run` of one tree against another's."""

from __future__ import annotations

import os
import resource
import subprocess
import time


def measured_run(command: list[str], tree: str, what: str) -> tuple[resource.struct_rusage, float]:
    """Run ``command`` in ``tree`` with that tree's modules first; its usage and wall seconds. A failed
    run stops the benchmark (``what`` says which run), so no figure comes from a broken one."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=tree, env={**os.environ, "PYTHONPATH": tree},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    if status:
        raise SystemExit(f"pipeline ({tree}) exited with status {status} {what}")
    return usage, wall
