"""``GET /_node/hot_threads``: the stack of every Python thread, to see where a worker is stuck.

Logstash reports the busiest JVM threads by CPU; Python cannot sample per-thread CPU portably, so
every thread is listed (workers first) with its current stack, innermost frame last.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from typing import Any


def hot_threads(limit: int = 50) -> dict[str, Any]:
    names = {t.ident: t for t in threading.enumerate()}
    threads = []
    for ident, frame in sys._current_frames().items():
        thread = names.get(ident)
        name = thread.name if thread is not None else f"thread-{ident}"
        trace = [f"{f.filename}:{f.lineno} in {f.name}" + (f": {f.line}" if f.line else "")
                 for f in traceback.extract_stack(frame)]
        threads.append({"name": name, "thread_id": ident, "daemon": bool(thread and thread.daemon),
                        "traces": trace[-20:]})
    threads.sort(key=lambda t: (">worker" not in str(t["name"]), str(t["name"])))
    return {"hot_threads": {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                            "busiest_threads": min(limit, len(threads)), "threads": threads[:limit]}}


def as_text(report: dict[str, Any]) -> str:
    lines = [f"::: hot threads at {report['hot_threads']['time']}"]
    for thread in report["hot_threads"]["threads"]:
        lines.append(f"\n--- thread {thread['name']} (id {thread['thread_id']})")
        lines.extend(f"    {line}" for line in thread["traces"])
    return "\n".join(lines) + "\n"
