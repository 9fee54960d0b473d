"""Worker processes start from a fork server that imported their modules once and froze them."""

from __future__ import annotations

import json
import subprocess
import sys


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_fork_server_preloads_the_runtime_and_the_plugins_then_freezes_them() -> None:
    out = _run("import json\nfrom multiprocessing import forkserver\n"
               "from pipeline.runtime.workerstart import worker_context\n"
               "context = worker_context(['pipeline.filters.grok', 'pipeline.filters.grok'])\n"
               "worker_context(['pipeline.filters.date'])  # later pipelines do not change the preload\n"
               "print(context.get_start_method(), json.dumps(forkserver._forkserver._preload_modules))")
    method, _, modules = out.partition(" ")
    assert method == "forkserver"
    preload = json.loads(modules)
    assert preload[-1] == "pipeline.runtime.forkfreeze"
    assert "pipeline.runtime.procworkers" in preload and preload.count("pipeline.filters.grok") == 1
    assert "pipeline.filters.date" not in preload


def test_importing_forkfreeze_puts_what_was_imported_out_of_the_collectors_reach() -> None:
    assert int(_run("import gc, pipeline.runtime.forkfreeze; print(gc.get_freeze_count())")) > 1000
