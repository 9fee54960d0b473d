"""pipeline/testing.py: the harness's own list input keeps within the queue's push limit too."""

from __future__ import annotations

from support.push_sizes import run_into_small_queue

from pipeline.event import Event
from pipeline.testing import _ListInput


def test_the_list_input_pushes_within_the_queues_push_limit():
    sizes, events = run_into_small_queue(_ListInput([Event({"n": n}) for n in range(45)]), capacity=20)
    assert sizes == [9, 9, 9, 9, 9]  # at most 10, evened out
    assert [e.get("n") for e in events] == list(range(45))
