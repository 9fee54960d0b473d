"""Polling helpers for end-to-end tests that watch a running `pipeline`: its ports, its HTTP answers, its
monitoring API. One copy here instead of a ``_wait_port`` / ``_stats`` per test file."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

NOT_YET = (OSError, KeyError, ValueError)  # the API not up yet, a pipeline not listed yet, a half-written body


def wait_until(predicate: Callable[[], Any], what: str = "condition", timeout: float = 60.0,
               ignore: tuple[type[BaseException], ...] = NOT_YET) -> Any:
    """Call ``predicate`` every 0.2 s until it returns something true, and return that; the ``ignore``d
    errors count as "not yet". AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except ignore:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def unused_port() -> int:
    """A TCP port free on 127.0.0.1 right now (nothing listens there: also a "server down" address)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0


def wait_listening(port: int, timeout: float = 60.0, host: str = "127.0.0.1",
                   proc: subprocess.Popen[Any] | None = None) -> None:
    """Until something listens on ``host:port`` (an input has bound its port); fails at once, with
    its stderr, if ``proc`` (the server that should listen) exits first."""
    wait_until(lambda: _alive(proc, f"{host}:{port} listened") and listening(port, host),
               f"something listening on {host}:{port}", timeout)


def _alive(proc: subprocess.Popen[Any] | None, before: str) -> bool:
    """True while ``proc`` runs (or when there is none); AssertionError with its stderr once it exited."""
    if proc is not None and proc.poll() is not None:
        err = proc.stderr.read() if proc.stderr else ""
        raise AssertionError(f"the process exited ({proc.returncode}) before {before}: "
                             f"{err.decode(errors='replace') if isinstance(err, bytes) else err}")
    return True


def answers(url: str) -> bool:
    """Whether an HTTP server answers ``url`` at all (an error status is an answer too)."""
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True


def wait_answering(url: str, proc: subprocess.Popen[Any] | None = None, timeout: float = 30.0) -> None:
    """Until ``url`` answers; fails at once, with the process's stderr, if ``proc`` exits first."""
    wait_until(lambda: _alive(proc, f"{url} answered") and answers(url), f"an answer at {url}", timeout)


def node_stats(api_port: int, path: str = "") -> dict[str, Any]:
    """GET /_node/stats (or /_node/stats/<path>) of the monitoring API on 127.0.0.1."""
    suffix = f"/{path}" if path else ""
    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/_node/stats{suffix}", timeout=5) as response:
        return json.load(response)  # type: ignore[no-any-return]


def wait_accepted(api_port: int, count: int, timeout: float = 60.0, pipeline: str = "main") -> dict[str, Any]:
    """Node stats once the pipeline's first input has emitted at least ``count`` events."""
    def accepted() -> dict[str, Any] | None:
        stats = node_stats(api_port)
        emitted = stats["pipelines"][pipeline]["plugins"]["inputs"][0]["events"]["out"]
        return stats if emitted >= count else None

    return wait_until(accepted, f"{count} events accepted by {pipeline}'s input", timeout,  # type: ignore[no-any-return]
                      ignore=(*NOT_YET, IndexError))  # IndexError: the input not registered yet
