"""Worker processes start from a fork server that imported their modules once and froze them: a fork of the
main process when it can be (fork_server_now), else a spawned one that imports them."""

from __future__ import annotations

import json
import subprocess
import sys


def _run(code: str, *args: str) -> str:
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)
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


_FORK_NOW = """
import os, sys, threading
from multiprocessing import forkserver
from pipeline.runtime import workerstart

def report(path):  # a function of __main__: only a copy of this process knows it
    with open(path, "w") as out:
        out.write(str(os.getppid()))

if __name__ == "__main__":
    if sys.argv[2] == "thread":
        threading.Thread(target=threading.Event().wait, daemon=True).start()
    forked = workerstart.fork_server_now()
    context = workerstart.worker_context(["pipeline.filters.date"])
    worker = context.Process(target=report, args=(sys.argv[1],))
    worker.start()
    worker.join(30)
    server = forkserver._forkserver._forkserver_pid
    with open(f"/proc/{server}/cmdline", "rb") as theirs, open("/proc/self/cmdline", "rb") as ours:
        print(forked, worker.exitcode, server, open(sys.argv[1]).read() if worker.exitcode == 0 else "-",
              theirs.read() == ours.read())
"""


def test_fork_server_now_forks_the_server_from_this_process(tmp_path) -> None:
    forked, exitcode, server, parent, same_command = _run(_FORK_NOW, str(tmp_path / "ppid"), "alone").split()
    assert (forked, exitcode, same_command) == ("True", "0", "True")
    assert parent == server  # the worker is the server's child


def test_fork_server_now_declines_while_another_thread_runs(tmp_path) -> None:
    forked, exitcode, _server, _parent, same_command = _run(_FORK_NOW, str(tmp_path / "ppid"), "thread").split()
    # the server is spawned as before (its own interpreter), which does not know __main__.report
    assert (forked, same_command) == ("False", "False")
    assert exitcode != "0"
