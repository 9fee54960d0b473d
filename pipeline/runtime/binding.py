"""An input that cannot listen on its port: fatal at start, retried with backoff after a reload.

At the first start a busy or forbidden port is a configuration problem the operator must see at
once: one line naming the input, the address and the reason, and a non-zero exit. A pipeline
started by a reload must not take the process down, so it retries with a growing delay, logs one
rate-limited line, and the health report turns red until the port is free.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from typing import Any

from pipeline.errors import PipelineError
from pipeline.logs import RateLimitedLogger

log = logging.getLogger("pipeline.runtime")
_limited = RateLimitedLogger(log, interval=60.0)
BIND_ERRNOS = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL, errno.EPERM})
MAX_BACKOFF = 30.0
#: an input without ``bound_port``: a retry that has not failed again after this long is taken as bound
BOUND_AFTER = 2.0
#: how often a retry of an input with ``bound_port`` is checked for having bound
BOUND_POLL = 0.1


class InputBindError(PipelineError):
    """An input could not listen on its address when the pipeline started."""


def bind_cause(exc: BaseException) -> OSError | None:
    """The OSError behind ``exc`` if it is a bind failure (the input may have wrapped it)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, OSError) and seen.errno in BIND_ERRNOS:
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def is_bind_error(exc: BaseException) -> bool:
    return bind_cause(exc) is not None


def describe(inp: Any, exc: BaseException) -> str:
    cause = bind_cause(exc)
    options = getattr(inp, "options", None)
    host, port = getattr(options, "host", "?"), getattr(options, "port", "?")
    reason = (cause.strerror or str(cause)) if cause is not None else str(exc)
    return f"input {inp.name} (id={inp.id}) cannot listen on {host}:{port}: {reason}"


async def handle(runner: Any, inp: Any, exc: BaseException) -> bool:
    """Deal with one bind failure; True to run the input again, False to give up on it."""
    state = runner.state.input(inp.id)
    state.attempts += 1
    message = describe(inp, exc)
    if runner.bind_failure_is_fatal:
        log.error("%s; the pipeline does not start", message)
        runner.fatal = InputBindError(message)
        runner.request_stop()
        return False
    if state.error is None:
        state.error_since = time.time()
    state.error = message
    delay = min(MAX_BACKOFF, 2.0 ** (state.attempts - 1))
    _limited.error(f"bind:{runner.built.pipeline_id}:{inp.id}", "%s; retrying (attempt %d, next in %.0fs)",
                   message, state.attempts, delay)
    if not await _sleep_unless_stopping(runner, delay):
        return False
    if hasattr(inp, "bound_port"):
        inp.bound_port = None  # set again by the input once the retry has bound: health turns green then
    asyncio.get_running_loop().create_task(_clear_when_bound(runner, inp, state, state.attempts))
    return True


async def _sleep_unless_stopping(runner: Any, delay: float) -> bool:
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        if runner.stopping.is_set():
            return False
        await asyncio.sleep(min(0.2, delay))
    return not runner.stopping.is_set()


async def _clear_when_bound(runner: Any, inp: Any, state: Any, attempts: int) -> None:
    """Clear the input's error once its retry listens: when it sets ``bound_port`` (the listening inputs:
    tcp, udp, http, syslog, beats), else when the retry has not failed again within BOUND_AFTER."""
    if hasattr(inp, "bound_port"):
        while inp.bound_port is None:
            if state.attempts != attempts or runner.stopping.is_set():
                return
            await asyncio.sleep(BOUND_POLL)
    else:
        await asyncio.sleep(BOUND_AFTER)
    if state.attempts == attempts and state.error is not None:
        log.info("%s: listening now", state.error.split(" cannot listen", 1)[0])
        state.error = None
        state.error_since = None
