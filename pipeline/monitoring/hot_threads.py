"""``GET /_node/hot_threads``: the busiest threads by CPU time, with their stacks, as Logstash shows them.

Parameters and shape follow Logstash's API (``logstash-core``'s HotThreadsMonitor and ThreadDump):
``threads`` (default 10) busiest threads, ``ignore_idle_threads`` (default true) leaves out pool
threads waiting for work, ``stacktrace_size`` (default 50) frames per thread, innermost first;
``human`` gives text. Each thread has ``percent_of_cpu_time`` (its CPU time over the process's
uptime, as Logstash computes it), ``cpu_time_in_millis``, ``state`` and ``traces``.

CPU time per thread comes from the thread's CPU clock (``pthread_getcpuclockid``); where there is
none (Windows), threads are listed without it, workers first. The state is the kernel's (Linux
``/proc``): runnable, waiting, blocked (uninterruptible I/O).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from types import FrameType
from typing import Any

THREADS_DEFAULT = 10
STACKTRACE_SIZE_DEFAULT = 50
_KERNEL_STATES = {"R": "runnable", "S": "waiting", "D": "blocked", "T": "stopped", "t": "stopped", "Z": "zombie"}
_START = time.monotonic()


class HotThreadsParameterError(ValueError):
    """A query parameter of /_node/hot_threads that is not what the API takes."""


@dataclass(frozen=True)
class HotThreadsQuery:
    threads: int = THREADS_DEFAULT
    ignore_idle_threads: bool = True
    stacktrace_size: int = STACKTRACE_SIZE_DEFAULT
    human: bool = False

    @classmethod
    def parse(cls, params: dict[str, list[str]]) -> HotThreadsQuery:
        """From a parsed query string (``urllib.parse.parse_qs(..., keep_blank_values=True)``)."""
        def number(name: str, default: int) -> int:
            if name not in params:
                return default
            text = params[name][-1]
            if not text.isdigit() or int(text) <= 0:
                raise HotThreadsParameterError(f"{name} must be a positive whole number, got {text!r}")
            return int(text)

        def flag(name: str, default: bool, blank: bool) -> bool:
            if name not in params:
                return default
            text = params[name][-1].lower()
            if text == "":
                return blank
            if text not in ("true", "false"):
                raise HotThreadsParameterError(f"{name} must be true or false, got {text!r}")
            return text == "true"

        return cls(threads=number("threads", THREADS_DEFAULT),
                   ignore_idle_threads=flag("ignore_idle_threads", True, True),
                   stacktrace_size=number("stacktrace_size", STACKTRACE_SIZE_DEFAULT),
                   human=flag("human", False, True))


def hot_threads(query: HotThreadsQuery | None = None, uptime_seconds: float | None = None) -> dict[str, Any]:
    query = query or HotThreadsQuery()
    uptime = uptime_seconds if uptime_seconds is not None else time.monotonic() - _START
    by_ident = {t.ident: t for t in threading.enumerate()}
    me = threading.get_ident()
    reports: list[dict[str, Any]] = []
    for ident, frame in sys._current_frames().items():
        if ident == me:  # the thread answering this request, as Logstash leaves out its own
            continue
        thread = by_ident.get(ident)
        if query.ignore_idle_threads and _idle(frame):
            continue
        cpu = _cpu_seconds(ident)
        traces = [f"{f.filename}:{f.lineno} in {f.name}" + (f": {f.line}" if f.line else "")
                  for f in reversed(traceback.extract_stack(frame))][:query.stacktrace_size]
        reports.append({
            "name": thread.name if thread is not None else f"thread-{ident}",
            "thread_id": getattr(thread, "native_id", None) or ident,
            "percent_of_cpu_time": round(cpu / uptime * 100, 2) if cpu is not None and uptime > 0 else None,
            "cpu_time_in_millis": round(cpu * 1000) if cpu is not None else None,
            "state": _state(getattr(thread, "native_id", None)),
            "daemon": bool(thread and thread.daemon),
            "traces": traces})
    reports.sort(key=_busiest_first)
    return {"hot_threads": {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                            "busiest_threads": query.threads, "threads": reports[:query.threads]}}


def _busiest_first(report: dict[str, Any]) -> tuple[int, bool, str]:
    return -int(report["cpu_time_in_millis"] or 0), ">worker" not in str(report["name"]), str(report["name"])


def _idle(frame: FrameType) -> bool:
    """A pool thread waiting for its next task (Logstash: ThreadPoolExecutor.getTask)."""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "_worker" and code.co_filename.endswith(os.path.join("concurrent", "futures", "thread.py")):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _cpu_seconds(ident: int) -> float | None:
    getter = getattr(time, "pthread_getcpuclockid", None)
    if getter is None:
        return None
    try:
        return time.clock_gettime(getter(ident))
    except (OSError, OverflowError):  # the thread ended meanwhile
        return None


def _state(native_id: int | None) -> str:
    if native_id is None:
        return "unknown"
    try:
        with open(f"/proc/self/task/{native_id}/stat", encoding="ascii") as stat:
            code = stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "unknown"
    return _KERNEL_STATES.get(code, code)


def as_text(report: dict[str, Any], hostname: str = "") -> str:
    """Logstash's ``?human`` layout: a title, then per thread its CPU share, state, name and stack."""
    section = report["hot_threads"]
    lines = [f"::: {{{hostname}}}", f"Hot threads at {section['time']}, busiestThreads={section['busiest_threads']}:",
             "=" * 80]
    for thread in section["threads"]:
        share = "?" if thread["percent_of_cpu_time"] is None else thread["percent_of_cpu_time"]
        lines.append(f"{share} % of cpu usage, state: {thread['state']}, thread name: '{thread['name']}', "
                     f"thread id: {thread['thread_id']}")
        lines.extend(f"\t{trace}" for trace in thread["traces"])
        lines.append("-" * 80)
    return "\n".join(lines) + "\n"
