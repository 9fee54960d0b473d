import asyncio
import threading
import time

import pytest

from pipeline.errors import QueueClosedError
from pipeline.event import Event
from pipeline.inputs.file.deferred import PlainBlockSource
from pipeline.queue import MemoryQueue
from pipeline.queue._waiters import TaskWaiter, ThreadWaiter, _resolve
from pipeline.queue.weight import batch_weight
from pipeline.runtime.rawevents import Decoration, RawBatch, pack, unpack


def events(n):
    return [Event({"n": i}) for i in range(n)]


def test_batches_come_out_in_order_up_to_the_batch_size():
    queue = MemoryQueue(100)
    assert queue.try_put(events(10))
    first = queue.get_batch(4, 0.01)
    second = queue.get_batch(100, 0.01)
    assert [e.get("n") for e in first] == [0, 1, 2, 3]
    assert [e.get("n") for e in second] == list(range(4, 10))


def test_full_queue_refuses_until_a_worker_takes_a_batch():
    queue = MemoryQueue(5)
    assert queue.try_put(events(5))
    assert not queue.try_put(events(1))
    assert not queue.put_blocking(events(1), timeout=0.05)
    queue.get_batch(5, 0.01)
    assert queue.try_put(events(1))


def test_a_batch_larger_than_capacity_fits_an_empty_queue():
    queue = MemoryQueue(2)
    assert queue.try_put(events(10))  # a big beats window must never deadlock


def test_async_put_waits_for_space_without_blocking_the_loop():
    queue = MemoryQueue(2)
    queue.try_put(events(2))
    progress = []

    async def producer():
        await queue.put(events(2))
        progress.append("accepted")

    async def ticker():
        for _ in range(5):
            progress.append("tick")
            await asyncio.sleep(0.01)

    async def main():
        task = asyncio.create_task(producer())
        await ticker()
        assert "accepted" not in progress  # still full
        threading.Thread(target=lambda: queue.get_batch(2, 0.01)).start()
        await asyncio.wait_for(task, 30)  # a bound for a loaded machine, not a timing

    asyncio.run(main())
    assert progress[-1] == "accepted" and progress.count("tick") == 5


def test_get_batch_returns_empty_after_delay_and_none_after_close():
    queue = MemoryQueue(10)
    started = time.monotonic()
    assert queue.get_batch(10, 0.05) == []
    assert time.monotonic() - started >= 0.04
    queue.try_put(events(3))
    queue.close()
    assert len(queue.get_batch(10, 0.01)) == 3  # drained after close
    assert queue.get_batch(10, 0.01) is None
    with pytest.raises(QueueClosedError):
        queue.try_put(events(1))


def test_an_async_producer_is_woken_only_once_its_batch_fits():
    queue = MemoryQueue(1000)
    assert queue.try_put(events(1000))

    async def scenario():
        put = asyncio.ensure_future(queue.put(events(500)))
        await asyncio.sleep(0.05)
        wakeups = []
        loop = asyncio.get_running_loop()
        original = loop.call_soon_threadsafe

        def counting(callback, *args, **kwargs):
            if callback is _resolve:  # a producer's wake-up (to_thread's own results pass here too)
                wakeups.append(len(queue))
            return original(callback, *args, **kwargs)

        loop.call_soon_threadsafe = counting
        for _ in range(4):  # room for 125, 250, 375: not enough for the window slice; then 500
            await asyncio.to_thread(queue.get_batch, 125, 0.0)
            await asyncio.sleep(0.01)
        await asyncio.wait_for(put, 5)
        return wakeups

    wakeups = asyncio.run(scenario())
    assert wakeups == [500]  # one wake-up, when the 500 events fit; none for the futile retries
    assert len(queue) == 1000


def record_wakeups(monkeypatch, queue: MemoryQueue) -> list[tuple[str, int, int]]:
    """(kind, push size, events queued) of each producer woken, threads and tasks alike."""
    wakes: list[tuple[str, int, int]] = []
    for kind in (ThreadWaiter, TaskWaiter):
        def recording(waiter, original=kind.wake):  # type: ignore[no-untyped-def]
            wakes.append((type(waiter).__name__, waiter.need, len(queue)))
            original(waiter)
        monkeypatch.setattr(kind, "wake", recording)
    return wakes


def wait_for(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 30
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.001)
    assert predicate(), what


def test_a_blocked_producer_is_woken_once_its_whole_push_fits(monkeypatch):
    # Each needless wake-up of a blocked producer costs a GIL hand-off: only room for its push wakes it.
    queue = MemoryQueue(1000)
    assert queue.try_put(events(1000))
    wakes = record_wakeups(monkeypatch, queue)
    accepted = []
    producer = threading.Thread(target=lambda: accepted.append(queue.put_blocking(events(500), timeout=30)))
    producer.start()
    wait_for(lambda: bool(queue._waiters), "the producer never blocked")
    for _ in range(4):
        assert len(queue.get_batch(125, 0.0)) == 125
    producer.join(30)
    assert accepted == [True]
    assert wakes == [("ThreadWaiter", 500, 500)]  # not after the first three batches, when 500 did not fit
    assert len(queue) == 1000 and not queue._waiters


def test_threads_and_tasks_blocked_together_are_each_woken_once_their_own_push_fits(monkeypatch):
    queue = MemoryQueue(1000)
    assert queue.try_put(events(1000))
    wakes = record_wakeups(monkeypatch, queue)
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(queue.put_blocking(events(500), timeout=30)))
    try:
        thread.start()
        wait_for(lambda: len(queue._waiters._waiting) == 1, "the thread never blocked")
        task = asyncio.run_coroutine_threadsafe(queue.put(events(200)), loop)
        wait_for(lambda: len(queue._waiters._waiting) == 2, "the task never blocked")
        queue.get_batch(125, 0.0)  # room for 125: neither push fits
        assert wakes == []
        queue.get_batch(125, 0.0)  # room for 250: the task's 200 fit, the thread's 500 do not
        task.result(30)
        assert wakes == [("TaskWaiter", 200, 750)] and len(queue) == 950
        for _ in range(4):  # room for 175, 300, 425, then 550: the thread's 500 fit
            queue.get_batch(125, 0.0)
        thread.join(30)
        assert accepted == [True]
        assert wakes == [("TaskWaiter", 200, 750), ("ThreadWaiter", 500, 450)]
        assert len(queue) == 950 and not queue._waiters
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join(30)
        loop.close()


def test_closing_wakes_blocked_threads_and_tasks_with_an_error():
    queue = MemoryQueue(2)
    assert queue.try_put(events(2))
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    errors = []

    def blocked_thread() -> None:
        try:
            queue.put_blocking(events(2))
        except QueueClosedError as exc:
            errors.append(exc)

    thread = threading.Thread(target=blocked_thread)
    try:
        thread.start()
        task = asyncio.run_coroutine_threadsafe(queue.put(events(2)), loop)
        wait_for(lambda: len(queue._waiters._waiting) == 2, "the producers never blocked")
        queue.close()
        with pytest.raises(QueueClosedError):
            task.result(30)
        thread.join(30)
        assert len(errors) == 1 and not queue._waiters
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join(30)
        loop.close()


class StoppedClock:
    """Stands in for the queue's ``time`` module and its batch-delay waits: a wait advances the clock
    at once and is recorded, so a test sees whether get_batch would have waited, without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        self.now += timeout or 0.0
        return False


def wait_until_blocked(queue: MemoryQueue) -> None:
    deadline = time.monotonic() + 30
    while not bool(queue._waiters) and time.monotonic() < deadline:
        time.sleep(0.001)
    assert bool(queue._waiters), "the producer never blocked"


def take_batch_on_stopped_clock(queue: MemoryQueue, monkeypatch, size: int) -> tuple[list[Event] | None, list[float]]:
    import pipeline.queue.memory as memory

    clock = StoppedClock()
    monkeypatch.setattr(memory, "time", clock)
    monkeypatch.setattr(queue._not_empty, "wait", clock.wait)
    batch = queue.get_batch(size, 0.05)
    monkeypatch.undo()
    return batch, clock.waits


def test_a_blocked_thread_producer_does_not_make_the_worker_wait_for_a_fuller_batch(monkeypatch):
    # capacity 10, 6 queued, a push of 6 blocked: a worker asking for 8 used to wait the whole batch
    # delay for events that could not come before it took the 6 (50 ms per push with small queues).
    queue = MemoryQueue(10)
    assert queue.try_put(events(6))
    accepted = []
    producer = threading.Thread(target=lambda: accepted.append(queue.put_blocking(events(6), timeout=30)))
    producer.start()
    wait_until_blocked(queue)
    batch, waits = take_batch_on_stopped_clock(queue, monkeypatch, 8)
    assert waits == []
    assert [e.get("n") for e in batch] == list(range(6))
    producer.join(30)
    assert accepted == [True] and len(queue) == 6


def test_a_blocked_async_producer_does_not_make_the_worker_wait_for_a_fuller_batch(monkeypatch):
    queue = MemoryQueue(10)
    assert queue.try_put(events(6))
    loop = asyncio.new_event_loop()
    put = asyncio.run_coroutine_threadsafe(queue.put(events(6)), loop)
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    try:
        wait_until_blocked(queue)
        batch, waits = take_batch_on_stopped_clock(queue, monkeypatch, 8)
        assert waits == []
        assert len(batch) == 6
        put.result(30)
        assert len(queue) == 6 and not bool(queue._waiters)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join(30)
        loop.close()


def test_without_a_blocked_producer_the_worker_still_waits_for_a_fuller_batch(monkeypatch):
    queue = MemoryQueue(10)
    assert queue.try_put(events(6))
    batch, waits = take_batch_on_stopped_clock(queue, monkeypatch, 8)
    assert waits == [pytest.approx(0.05)]  # Logstash's batch delay, kept when nothing is held back
    assert len(batch) == 6


def test_an_async_producer_that_gave_up_waiting_no_longer_counts_as_blocked():
    queue = MemoryQueue(2)
    assert queue.try_put(events(2))

    async def scenario():
        put = asyncio.ensure_future(queue.put(events(2)))
        for _ in range(1000):
            await asyncio.sleep(0.001)
            if bool(queue._waiters):
                break
        assert bool(queue._waiters)
        put.cancel()
        with pytest.raises(asyncio.CancelledError):
            await put

    asyncio.run(scenario())
    assert not bool(queue._waiters)


class _Block(Event):
    """An item standing for several events, as a RawBatch (pipeline/queue/weight.py)."""

    __slots__ = ("weight",)

    def __init__(self, weight):
        super().__init__({"block": weight})
        self.weight = weight


def test_an_item_standing_for_several_events_counts_as_them():
    q = MemoryQueue(capacity=10)
    assert q.try_put([_Block(6)])
    assert len(q) == 6 and q.accepted == 6
    assert not q.try_put(events(5))  # 6 + 5 > 10: full as with six events
    assert q.try_put(events(4))
    assert len(q) == 10
    first = q.get_batch(5, 0.0)  # at least one item, even one worth more than the batch size
    assert [e.get("block") for e in first] == [6] and len(q) == 4
    assert q.try_put([_Block(3)]) and q.try_put(events(1)) and len(q) == 8
    second = q.get_batch(6, 0.0)  # items up to six events' worth: the block of 3 would make 7
    assert [e.get("n") for e in second] == [0, 1, 2, 3] and len(q) == 4
    third = q.get_batch(6, 0.0)
    assert [e.get("block") for e in third] == [3, None] and len(q) == 0


def test_a_block_of_lines_is_split_so_a_batch_holds_exactly_its_size():
    source = PlainBlockSource("/p", "box", True, "UTF-8", None, Decoration(), b"\n")
    lines = [f"line {n}".encode() for n in range(10)]
    q = MemoryQueue(capacity=100)
    for first in (0, 4):
        chunk = lines[first:first + 4] if first == 0 else lines[4:]
        start = sum(len(line) + 1 for line in lines[:first])
        assert q.try_put([RawBatch((b"\n".join(chunk), start), source, len(chunk))])
    assert len(q) == 10
    batches = [q.get_batch(3, 0.0) for _ in range(4)]
    assert [batch_weight(b) for b in batches] == [3, 3, 3, 1] and len(q) == 0
    messages = [e.get("message") for b in batches for e in unpack(pack(b))]
    assert messages == [line.decode() for line in lines]  # in order, none lost, none twice
