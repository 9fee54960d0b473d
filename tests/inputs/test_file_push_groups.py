"""How the file input cuts one read's lines into queue pushes (pipeline/inputs/file/push_groups.py)."""

from __future__ import annotations

import pytest

from pipeline.inputs.file.push_groups import MAX_LINES_PER_PUSH, push_bounds


def sizes(bounds: list[tuple[int, int]]) -> list[int]:
    return [stop - start for start, stop in bounds]


@pytest.mark.parametrize("count", [1, 137, 250, 251, 553, 1106, 4424])
@pytest.mark.parametrize("capacity", [1, 2, 10, 500, 1000, 4000, None, 0])
def test_pushes_cover_every_line_once_in_order(count, capacity):
    bounds = push_bounds(count, capacity)
    assert bounds[0][0] == 0 and bounds[-1][1] == count
    assert all(stop == next_start for (_, stop), (next_start, _) in zip(bounds, bounds[1:], strict=False))
    assert all(stop > start for start, stop in bounds)


@pytest.mark.parametrize("count", [137, 553, 1106, 4424])
@pytest.mark.parametrize("capacity", [10, 500, 1000])
def test_a_push_leaves_room_in_the_queue(count, capacity):
    # A push the size of the whole queue fits only an empty queue: with one worker (capacity 500) a
    # 128 KiB read went out as 500 + 53 and reader and worker waited on each other (18 s instead of 0.7 s).
    assert max(sizes(push_bounds(count, capacity))) <= capacity // 2


def test_pushes_are_even_so_no_small_tail_push_follows():
    assert sizes(push_bounds(553, 500)) == [185, 185, 183]
    assert sizes(push_bounds(1106, 500)) == [222, 222, 222, 222, 218]


def test_a_read_that_fits_goes_out_in_one_push():
    assert push_bounds(138, 500) == [(0, 138)]


def test_an_unbounded_queue_takes_the_largest_pushes_not_single_lines():
    # a persisted queue with queue.max_events 0 reports capacity 0: no limit, not one line per push
    assert sizes(push_bounds(1200, 0)) == [400, 400, 400]
    assert max(sizes(push_bounds(10_000, None))) <= MAX_LINES_PER_PUSH


def test_nothing_read_means_no_push():
    assert push_bounds(0, 500) == []
