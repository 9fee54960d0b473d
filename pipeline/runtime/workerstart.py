"""How worker processes start: forked from a fork server that imported their modules once.

A worker process started with ``spawn`` is a fresh interpreter that imports the
pipeline's runtime and plugin modules before it builds its filters and outputs:
~0.15 s of CPU per worker process (most of a worker's start), paid again by every
worker. The ``forkserver`` start method forks each worker from one server process
that imported them already (its preload), so the imports are paid once, whatever
the number of workers. The server is a fresh interpreter started before any
worker (never a fork of the main process, which runs threads), and the main
process stops it at exit so its CPU and its workers' are accounted to the main
process (``getrusage(RUSAGE_CHILDREN)``), not lost to an orphan.

Where ``forkserver`` is missing (Windows), workers are spawned as before.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import threading
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("pipeline.runtime")

#: what every worker process imports, whatever its plugins
RUNTIME_MODULES = ("pipeline.runtime.procworkers", "pipeline.runtime.builder", "pipeline.runtime.runner",
                   "pipeline.runtime.agent", "pipeline.logs")

_lock = threading.Lock()
_server_used = False


def worker_context(plugin_modules: Iterable[str] = ()) -> Any:  # a Spawn- or ForkServerContext
    """The multiprocessing context worker processes start from. ``plugin_modules``: the modules of the
    pipeline's filters and outputs, imported by the fork server before it forks the first worker (the
    server outlives a pipeline: later pipelines' extra modules are imported by their workers)."""
    global _server_used
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    with _lock:
        if not _server_used:
            _server_used = True
            # forkfreeze last: it freezes what the others imported
            context.set_forkserver_preload([*RUNTIME_MODULES, *sorted(set(plugin_modules)),
                                            "pipeline.runtime.forkfreeze"])
            atexit.register(_stop_server)
    return context


def _stop_server() -> None:
    """Stop the fork server and wait for it (it exits anyway once the main process is gone; waiting
    keeps its CPU, and that of the workers it reaped, in the main process's account)."""
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # private: no public way to wait for the server
    if stop is None:
        return
    try:
        stop()
    except (OSError, ChildProcessError) as exc:
        log.debug("the worker fork server could not be stopped cleanly: %s", exc)
