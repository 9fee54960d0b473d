"""How many events one push may hold (pipeline/queue/push_size.py), and the queues that apply the rule."""

from __future__ import annotations

import pytest

from pipeline.queue.memory import MemoryQueue
from pipeline.queue.persisted import PersistedQueue
from pipeline.queue.push_size import UNBOUNDED, push_limit_for, push_slices


def sizes(bounds: list[tuple[int, int]]) -> list[int]:
    return [stop - start for start, stop in bounds]


@pytest.mark.parametrize("count", [1, 137, 250, 251, 553, 1106, 4424])
@pytest.mark.parametrize("limit", [1, 5, 250, 500, UNBOUNDED])
def test_pushes_cover_every_event_once_in_order_within_the_limit(count, limit):
    bounds = push_slices(count, limit)
    assert bounds[0][0] == 0 and bounds[-1][1] == count
    assert all(stop == next_start for (_, stop), (next_start, _) in zip(bounds, bounds[1:], strict=False))
    assert all(0 < stop - start <= limit for start, stop in bounds)


def test_pushes_are_even_so_no_small_tail_push_follows():
    assert sizes(push_slices(553, 250)) == [185, 185, 183]
    assert sizes(push_slices(1106, 250)) == [222, 222, 222, 222, 218]


def test_what_fits_goes_out_in_one_push():
    assert push_slices(138, 250) == [(0, 138)]
    assert push_slices(10_000, UNBOUNDED) == [(0, 10_000)]


def test_nothing_means_no_push():
    assert push_slices(0, 250) == []


@pytest.mark.parametrize(("capacity", "limit"), [(1, 1), (2, 1), (3, 1), (10, 5), (200, 100), (500, 250)])
def test_a_push_is_at_most_half_the_capacity(capacity, limit):
    # A push the size of the whole queue fits only an empty queue: with one worker (capacity 500) a
    # 128 KiB read went out as 500 + 53 and reader and worker took turns (+40 % CPU per event).
    assert push_limit_for(capacity) == limit


@pytest.mark.parametrize("capacity", [0, -1])
def test_a_queue_bounded_by_bytes_only_sets_no_limit_in_events(capacity):
    # The persisted queue's default queue.max_events 0 once meant pushes of ONE event (max(1, 0 // 2)).
    assert push_limit_for(capacity) == UNBOUNDED


def test_the_memory_queue_applies_the_rule():
    assert MemoryQueue(500).push_limit() == 250
    assert MemoryQueue(0).push_limit() == 1  # a memory queue holds at least one event


def test_the_persisted_queue_applies_the_rule(tmp_path):
    for capacity, limit in ((0, UNBOUNDED), (200, 100)):
        queue = PersistedQueue(tmp_path / str(capacity), capacity)
        try:
            assert queue.push_limit() == limit
        finally:
            queue.close()
