"""stdin input: what it pushes from one read of standard input."""

from __future__ import annotations

import io
import sys
import types

from support.push_sizes import run_into_small_queue

from pipeline.testing import build_plugin


def test_one_read_of_many_lines_is_pushed_within_the_queues_push_limit(monkeypatch):
    # A 64 KiB read of short lines holds thousands of events: one push of them all fitted only an empty queue.
    data = "".join(f"line {n}\n" for n in range(1000)).encode()
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))
    sizes, events = run_into_small_queue(build_plugin("input", "stdin {}"), capacity=200)  # pushes of 100 at most
    assert sizes == [100] * 10
    assert [e.get("message") for e in events] == [f"line {n}" for n in range(1000)]
