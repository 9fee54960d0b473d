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

``pipeline run`` goes one step further (:func:`fork_server_now`): right after it built its
pipelines, while it runs no thread yet, it forks the server from itself, so the server holds every module
and needs no interpreter start nor imports of its own (~0.15 s of CPU, and as much wall time before the
first worker could start: the main process waited for the spawned server's imports). The server is
multiprocessing's own (its ``main``), only started by a fork instead of a spawn.

Where ``forkserver`` is missing (Windows), workers are spawned as before.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import inspect
import logging
import multiprocessing
import os
import socket
import sys
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


def fork_server_now() -> bool:
    """Start the fork server as a fork of this process, now. Only while this process runs no other thread
    (a fork copies one thread; another's locks could stay held forever) and with the multiprocessing
    internals this was written against; otherwise False, and the first worker spawns the server as usual."""
    global _server_used
    from multiprocessing import connection, forkserver, util

    server: Any = getattr(forkserver, "_forkserver", None)
    if ("forkserver" not in multiprocessing.get_all_start_methods() or threading.active_count() != 1
            or not _fork_compatible(server)):
        return False
    # No lock taken: this is the only thread, and a lock held across the fork would stay held in the copies.
    if _server_used or server._forkserver_pid is not None:
        return False
    for module in RUNTIME_MODULES:  # imported here once, for the server and every worker
        importlib.import_module(module)
    for stream in (sys.stdout, sys.stderr):  # a buffered line would otherwise be written again by a copy
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):  # none, closed, or a closed pipe
            pass
    with socket.socket(socket.AF_UNIX) as listener:
        address = connection.arbitrary_address("AF_UNIX")  # type: ignore[attr-defined]  # private
        listener.bind(address)
        if not util.is_abstract_socket_namespace(address):
            os.chmod(address, 0o600)
        listener.listen()
        # Every client holds the write end of the "alive" pipe; the server exits once all are gone.
        alive_r, alive_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the server
            code = 1
            try:
                os.close(alive_w)
                gc.collect()
                gc.freeze()  # see forkfreeze: a worker's start-up collection then copies no inherited page
                forkserver.main(listener.fileno(), alive_r, [])
                code = 0
            except SystemExit:  # its way out once the main process is gone
                code = 0
            except BaseException:  # noqa: BLE001 - said on stderr; the workers' start then fails visibly
                sys.excepthook(*sys.exc_info())
            finally:
                os._exit(code)  # never the main process's exit handlers
        os.close(alive_r)
    server._forkserver_address = address
    server._forkserver_alive_fd = alive_w
    server._forkserver_pid = pid
    _server_used = True
    atexit.register(_stop_server)
    return True


def _fork_compatible(server: Any) -> bool:
    """The private parts of multiprocessing.forkserver that fork_server_now fills in are those it knows
    (CPython 3.11-3.13; a later one may add a handshake, then the server is spawned as before)."""
    from multiprocessing import forkserver

    try:
        parameters = list(inspect.signature(forkserver.main).parameters)
    except (TypeError, ValueError):
        return False
    return (parameters == ["listener_fd", "alive_r", "preload", "main_path", "sys_path"]
            and all(hasattr(server, name) for name in ("_lock", "_forkserver_address", "_forkserver_alive_fd",
                                                       "_forkserver_pid", "_stop")))


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
