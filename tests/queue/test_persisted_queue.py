"""The persisted queue: the memory queue's protocol, plus what disk adds (restart, acks, limits, damage)."""

import asyncio
import errno
import logging
import os
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pipeline.errors import QueueClosedError
from pipeline.event import Event
from pipeline.queue.persisted import PersistedQueue, QueueLockedError, QueueWriteError, queue_dir
from pipeline.timestamp import Timestamp


def events(n, start=0):
    return [Event({"n": i, "message": f"line {i}"}) for i in range(start, start + n)]


def numbers(batch):
    return [e.get("n") for e in batch]


def abandon(queue):
    """What a killed process leaves: files as they are, nothing finalised (the OS drops the lock)."""
    queue._release_files()


def drain(queue, size=1000):
    got = []
    while (batch := queue.get_batch(size, 0.01)):
        got.extend(batch)
        queue.ack(batch)
    return got


@pytest.fixture
def qdir(tmp_path):
    return queue_dir(tmp_path, "main")


# -- the protocol, as the memory queue ---------------------------------------------------------------
def test_batches_come_out_in_order_up_to_the_batch_size(qdir):
    queue = PersistedQueue(qdir, 100)
    assert queue.try_put(events(10))
    first = queue.get_batch(4, 0.01)
    second = queue.get_batch(100, 0.01)
    assert numbers(first) == [0, 1, 2, 3]
    assert numbers(second) == list(range(4, 10))
    assert len(queue) == 0 and queue.unacked == 10
    queue.ack(first)
    queue.ack(second)
    assert queue.unacked == 0
    queue.close()


def test_full_queue_refuses_until_a_worker_takes_a_batch(qdir):
    queue = PersistedQueue(qdir, 5)
    assert queue.try_put(events(5))
    assert not queue.try_put(events(1))
    assert not queue.put_blocking(events(1), timeout=0.05)
    queue.get_batch(5, 0.01)
    assert queue.try_put(events(1))
    queue.close()


def test_a_batch_larger_than_capacity_fits_an_empty_queue(qdir):
    queue = PersistedQueue(qdir, 2, max_bytes=2048)
    assert queue.try_put(events(100))  # more than both limits: a big beats window must never deadlock
    assert len(queue) == 100
    queue.close()


def test_async_put_waits_for_space_without_blocking_the_loop(qdir):
    queue = PersistedQueue(qdir, 2)
    queue.try_put(events(2))
    progress = []

    async def producer():
        await queue.put(events(2, start=2))
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
    assert numbers(queue.get_batch(10, 0.01)) == [2, 3]
    queue.close()


def test_get_batch_returns_empty_after_delay_and_none_after_close(qdir):
    queue = PersistedQueue(qdir, 10)
    started = time.monotonic()
    assert queue.get_batch(10, 0.05) == []
    assert time.monotonic() - started >= 0.04
    queue.try_put(events(3))
    queue.close()
    batch = queue.get_batch(10, 0.01)
    assert len(batch) == 3  # drained after close
    queue.ack(batch)
    assert queue.get_batch(10, 0.01) is None
    with pytest.raises(QueueClosedError):
        queue.try_put(events(1))
    with pytest.raises(QueueClosedError):
        asyncio.run(queue.put(events(1)))


def test_concurrent_producers_and_workers_see_every_event_once(qdir):
    queue = PersistedQueue(qdir, 50, max_bytes=16384, segment_bytes=4096, memory_events=20)
    received, lock = [], threading.Lock()

    def produce(offset):
        for i in range(0, 300, 7):
            assert queue.put_blocking(events(7, start=offset + i))

    def work():
        while (batch := queue.get_batch(16, 0.01)) is not None:
            with lock:
                received.extend(numbers(batch))
            queue.ack(batch)

    producers = [threading.Thread(target=produce, args=(k * 1000,)) for k in range(3)]
    workers = [threading.Thread(target=work) for _ in range(3)]
    for thread in producers + workers:
        thread.start()
    for thread in producers:
        thread.join()
    queue.close()
    for thread in workers:
        thread.join()
    expected = sorted(k * 1000 + i for k in range(3) for i in range(301))
    assert sorted(received) == expected
    assert queue.unacked == 0 and not list(qdir.glob("*.seg"))  # every segment deleted once acked


# -- what is on disk -------------------------------------------------------------------------------
def test_events_come_back_from_disk_with_timestamp_metadata_and_types(qdir):
    stamp = Timestamp.parse("2026-11-21T05:16:26.123Z")
    original = Event({"@timestamp": stamp, "message": "hello", "tags": ["a"], "@metadata": {"beat": "fb"},
                      "nested": {"when": Timestamp(1), "list": [1, 2.5, None, True], "raw": b"\x00\xff"}})
    queue = PersistedQueue(qdir, 10, memory_events=0)  # memory_events=0: always read back from disk
    queue.try_put([original])
    (copy,) = queue.get_batch(1, 0.01)
    assert copy is not original
    assert copy == original
    assert copy.timestamp == stamp and isinstance(copy.get("[nested][when]"), Timestamp)
    assert copy.metadata == {"beat": "fb"}
    queue.close()


def test_values_of_unusual_types_are_kept_as_plain_values(qdir, caplog):
    queue = PersistedQueue(qdir, 10, memory_events=0)
    when = datetime(2026, 1, 2, tzinfo=UTC)
    queue.try_put([Event({"price": Decimal("1.50"), "when": when, "ok": True})])
    (copy,) = queue.get_batch(1, 0.01)
    assert copy.get("price") == "1.50" and copy.get("when") == str(when) and copy.get("ok") is True
    assert "stored as text" in caplog.text
    queue.close()


def test_acknowledged_segments_are_deleted(qdir):
    queue = PersistedQueue(qdir, 0, segment_bytes=1024)
    for i in range(20):
        queue.try_put(events(5, start=i * 5))
    assert len(list(qdir.glob("*.seg"))) >= 3
    got = drain(queue, size=30)
    assert numbers(got) == list(range(100))
    assert len(list(qdir.glob("*.seg"))) <= 1  # at most the head, being written
    assert queue.bytes_used == sum(p.stat().st_size for p in qdir.glob("*.seg"))
    stats = queue.stats()
    assert stats["type"] == "persisted" and stats["queue_size_in_bytes"] == queue.bytes_used
    assert stats["accepted"] == 100 and stats["unacked"] == 0 and stats["events_count"] == 0
    queue.close()
    assert not list(qdir.glob("*.seg"))


def test_backpressure_by_bytes_until_acknowledged(qdir):
    queue = PersistedQueue(qdir, 0, max_bytes=4096, segment_bytes=1024)
    accepted = 0
    while queue.try_put(events(1, start=accepted)):
        accepted += 1
    assert 4096 - 200 < queue.bytes_used <= 4096
    assert not queue.put_blocking(events(1), timeout=0.05)
    batch = queue.get_batch(accepted, 0.01)
    assert not queue.try_put(events(1))  # read is not enough: the bytes stay until acknowledged
    queue.ack(batch)
    assert queue.bytes_used < 1024
    assert queue.try_put(events(1))
    queue.close()


def test_second_queue_on_the_same_directory_is_refused(qdir):
    queue = PersistedQueue(qdir, 10)
    with pytest.raises(QueueLockedError, match="in use"):
        PersistedQueue(qdir, 10)
    queue.close()
    PersistedQueue(qdir, 10).close()  # released at close


# -- restarts --------------------------------------------------------------------------------------
def test_unacknowledged_events_are_delivered_again_after_a_crash(qdir):
    queue = PersistedQueue(qdir, 100, checkpoint_acks=1)
    queue.try_put(events(10))
    done = queue.get_batch(4, 0.01)
    queue.ack(done)
    queue.get_batch(3, 0.01)  # in flight when the process dies
    abandon(queue)
    again = PersistedQueue(qdir, 100)
    assert len(again) == 6
    assert numbers(drain(again)) == list(range(4, 10))
    again.close()


def test_out_of_order_acks_redeliver_from_the_oldest_unacknowledged_batch(qdir):
    queue = PersistedQueue(qdir, 100, checkpoint_acks=1)
    queue.try_put(events(9))
    first, second, third = (queue.get_batch(3, 0.01) for _ in range(3))
    queue.ack(third)
    queue.ack(first)
    assert queue.unacked == 6  # second still in flight holds everything after it
    abandon(queue)
    again = PersistedQueue(qdir, 100)
    assert numbers(drain(again)) == numbers(second) + numbers(third)  # duplicates only after in-flight
    again.close()


def test_a_big_record_read_back_in_small_batches_after_a_restart(qdir):
    queue = PersistedQueue(qdir, 0, checkpoint_acks=1)
    queue.try_put(events(300))  # one input window, written as records of up to 128 events
    queue.try_put(events(50, start=300))
    queue.ack(queue.get_batch(7, 0.01))  # acknowledged up to the middle of the first record
    abandon(queue)
    again = PersistedQueue(qdir, 0, checkpoint_acks=1)
    sizes, got = [], []
    while (batch := again.get_batch(13, 0.01)):
        sizes.append(len(batch))
        got.extend(numbers(batch))
        again.ack(batch)
    assert got == list(range(7, 350))
    assert max(sizes) == 13
    again.close()


def test_a_graceful_stop_without_drain_keeps_unread_events_for_the_next_start(qdir):
    queue = PersistedQueue(qdir, 100, drain=False, segment_bytes=1024)
    queue.try_put(events(30))
    batch = queue.get_batch(10, 0.01)
    queue.close()
    assert queue.get_batch(10, 0.01) is None  # not draining
    queue.ack(batch)
    again = PersistedQueue(qdir, 100)
    assert numbers(drain(again)) == list(range(10, 30))
    again.try_put(events(2, start=30))  # numbering goes on after the old records
    assert numbers(drain(again)) == [30, 31]
    again.close()
    assert not list(qdir.glob("*.seg"))


def test_a_damaged_checkpoint_means_redelivery_not_loss(qdir, caplog):
    queue = PersistedQueue(qdir, 100, checkpoint_acks=1)
    queue.try_put(events(6))
    queue.ack(queue.get_batch(4, 0.01))
    abandon(queue)
    (qdir / "checkpoint").write_bytes(b"\x00garbage")
    again = PersistedQueue(qdir, 100)
    assert "checkpoint file damaged" in caplog.text
    assert numbers(drain(again)) == list(range(6))  # at least once: from the start of what is on disk
    again.close()


def test_a_torn_last_record_is_cut_with_a_warning(qdir, caplog):
    queue = PersistedQueue(qdir, 100)
    queue.try_put(events(5))
    abandon(queue)
    (segment,) = qdir.glob("*.seg")
    data = segment.read_bytes()
    segment.write_bytes(data + data[-40:-10])  # half a record, as a crash mid-write leaves
    caplog.set_level(logging.WARNING)
    again = PersistedQueue(qdir, 100)
    assert "torn or corrupt record" in caplog.text
    again.try_put(events(1, start=5))
    assert numbers(drain(again)) == [0, 1, 2, 3, 4, 5]
    again.close()


def test_a_corrupt_record_in_an_older_segment_is_skipped_and_counted(qdir, caplog):
    queue = PersistedQueue(qdir, 0, segment_bytes=1024, memory_events=0)
    for i in range(20):
        queue.try_put(events(2, start=i * 2))
    abandon(queue)
    segments = sorted(qdir.glob("*.seg"))
    assert len(segments) >= 3
    damaged = bytearray(segments[0].read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    segments[0].write_bytes(bytes(damaged))
    again = PersistedQueue(qdir, 0)
    got = numbers(drain(again))
    lost = again.corrupt_records
    assert lost > 0 and "skipped" in caplog.text
    assert got == sorted(got) and len(got) + lost == 40
    assert got[-1] == 39  # later segments all delivered
    again.close()


# -- bad input and failures ------------------------------------------------------------------------
def test_an_event_that_cannot_be_stored_goes_on_tagged_instead_of_lost(qdir, caplog):
    class Unprintable:
        def __str__(self):
            raise RuntimeError("no text")

    deep = current = {}
    for _ in range(100_000):
        current["d"] = current = {}
    queue = PersistedQueue(qdir, 10, memory_events=0)
    queue.try_put([Event({"n": 0, "odd": Unprintable()}), Event({"n": 1, "deep": deep}), Event({"n": 2})])
    first, second, third = queue.get_batch(10, 0.01)
    assert first.get("odd") == "<unprintable Unprintable>"
    assert second.has_tag("_queue_serialization_failure")
    assert "RecursionError" in second.get("[error][message]")
    assert third.get("n") == 2
    assert "cannot be stored" in caplog.text
    queue.close()


def test_a_failed_write_is_reported_and_leaves_the_queue_usable(qdir, monkeypatch):
    from pipeline.queue import persisted

    queue = PersistedQueue(qdir, 100)
    queue.try_put(events(2))

    def disk_full(fd, data):
        os.write(fd, bytes(data)[:7])  # part of the record reached the disk
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(persisted, "_write_all", disk_full)
        with pytest.raises(QueueWriteError, match="No space left on device"):
            queue.try_put(events(1, start=2))
    queue.try_put(events(1, start=3))
    abandon(queue)
    again = PersistedQueue(qdir, 100)
    assert numbers(drain(again)) == [0, 1, 3]
    assert again.corrupt_records == 0  # the partial record was cut at once, nothing torn on disk
    again.close()


def test_async_put_with_fsync_on_every_put_survives_a_crash(qdir):
    queue = PersistedQueue(qdir, 100, checkpoint_writes=1)

    async def main():
        for i in range(5):
            await queue.put(events(2, start=i * 2))

    asyncio.run(main())
    abandon(queue)
    again = PersistedQueue(qdir, 100)
    assert numbers(drain(again)) == list(range(10))
    again.close()


def test_the_ack_position_is_saved_every_checkpoint_interval(qdir):
    queue = PersistedQueue(qdir, 100, checkpoint_acks=10_000, checkpoint_interval=0.05)
    queue.try_put(events(5))
    queue.ack(queue.get_batch(3, 0.01))
    deadline = time.monotonic() + 30  # a bound for a loaded machine, not a timing
    while queue._checkpointed_seq != 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    abandon(queue)
    again = PersistedQueue(qdir, 100)
    assert numbers(drain(again)) == [3, 4]
    again.close()


# -- in the real runner --------------------------------------------------------------------------
def test_the_runner_works_unchanged_on_a_persisted_queue(tmp_path):
    from pipeline.config.loader import parse_text
    from pipeline.runtime.builder import build_pipeline
    from pipeline.runtime.runner import PipelineRunner, RunSettings

    config = parse_text("""
        input { generator { count => 700 lines => ["a", "b"] } }
        filter { mutate { add_field => { "seen" => "yes" } } }
        output { null {} }
    """, "<test>")
    built = build_pipeline(config, "main", tmp_path, require_inputs=True)
    captured = []
    route = built.route

    def tap(batch, sinks):
        captured.extend(batch)
        route(batch, sinks)

    built.route = tap
    runner = PipelineRunner(built, RunSettings(workers=2, batch_size=64, batch_delay=0.01))
    runner.queue = PersistedQueue(queue_dir(tmp_path, "main"), 256, segment_bytes=8192)
    asyncio.run(asyncio.wait_for(runner.run(), 60))
    assert len(captured) == 1400 and all(e.get("seen") == "yes" for e in captured)
    assert runner.queue.accepted == 1400 and runner.queue.unacked == 0
    assert not list(queue_dir(tmp_path, "main").glob("*.seg"))


def test_settings_use_logstash_names_and_units(tmp_path):
    from pipeline.queue.persisted import PersistedQueueSettings

    settings = PersistedQueueSettings.from_settings({
        "queue.max_bytes": "2mb", "queue.page_capacity": "64kb", "queue.checkpoint.writes": 1,
        "queue.checkpoint.acks": 0, "queue.checkpoint.interval": 250, "queue.drain": "true"})
    assert (settings.max_bytes, settings.page_capacity) == (2 * 1024 ** 2, 64 * 1024)
    assert settings.checkpoint_interval == 0.25 and settings.drain is True
    assert PersistedQueueSettings.from_settings({}).drain is False  # Logstash's default
    with pytest.raises(ValueError, match="queue.max_bytes"):
        PersistedQueueSettings.from_settings({"queue.max_bytes": "lots"})
    queue = settings.open(tmp_path, "main", 100)
    assert queue.directory == tmp_path / "queue" / "main"
    assert (queue.max_bytes, queue.segment_bytes, queue.checkpoint_writes) == (2 * 1024 ** 2, 64 * 1024, 1)
    queue.close()


@pytest.mark.parametrize("seed", range(6))
def test_random_puts_takes_acks_and_crashes_deliver_every_event_at_least_once(qdir, seed):
    import random

    rng = random.Random(seed)
    options = {"segment_bytes": rng.choice([1024, 4096, 65536]), "memory_events": rng.choice([0, 50, 10_000]),
               "checkpoint_acks": rng.choice([1, 64, 1024]), "drain": False,
               "max_bytes": rng.choice([8192, 1024 ** 3])}
    queue = PersistedQueue(qdir, 0, **options)
    next_id, acked, in_flight, seen_last = 0, set(), [], -1
    settled, this_run = set(), set()  # acknowledged in a run that stopped gracefully: never delivered again
    for _ in range(300):
        action = rng.random()
        if action < 0.35:
            count = rng.choice([1, 5, 130, 300])
            if queue.try_put(events(count, start=next_id)):  # refused when max_bytes is reached
                next_id += count
        elif action < 0.7:
            batch = queue.get_batch(rng.choice([1, 7, 125, 400]), 0)
            if batch:
                got = numbers(batch)
                assert got == sorted(got) and got[0] > seen_last, "order within one run"
                assert got[-1] < next_id and not settled.intersection(got)
                seen_last = got[-1]
                in_flight.append(batch)
        elif action < 0.95 and in_flight:
            batch = in_flight.pop(rng.randrange(len(in_flight)))  # out of order
            queue.ack(batch)
            acked.update(numbers(batch))
            this_run.update(numbers(batch))
        elif action >= 0.985:
            abandon(queue)  # crash: in-flight batches are lost with the process
            in_flight, seen_last, this_run = [], -1, set()
            queue = PersistedQueue(qdir, 0, **options)
        elif action >= 0.97:
            queue.close()  # graceful stop: workers finish their batches, unread events stay on disk
            for batch in in_flight:
                queue.ack(batch)
                acked.update(numbers(batch))
                this_run.update(numbers(batch))
            settled |= this_run
            in_flight, seen_last, this_run = [], -1, set()
            queue = PersistedQueue(qdir, 0, **options)
    for batch in in_flight:
        queue.ack(batch)
        acked.update(numbers(batch))
    acked.update(numbers(drain(queue)))
    assert acked == set(range(next_id))
    queue.close()
    assert not list(qdir.glob("*.seg"))


def test_subclasses_of_plain_types_come_back_as_the_plain_type(qdir):
    from collections import OrderedDict

    from pipeline.plugin import ByteSize

    queue = PersistedQueue(qdir, 10, memory_events=0)
    queue.try_put([Event({"size": ByteSize(2048), "ordered": OrderedDict(a=1), "n": 1})])
    (copy,) = queue.get_batch(1, 0.01)
    assert type(copy.get("size")) is int and copy.get("size") == 2048
    assert type(copy.get("ordered")) is dict and copy.get("ordered") == {"a": 1}
    queue.close()


def test_an_unusable_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the queue directory should be")
    with pytest.raises(QueueWriteError, match="check path.data"):
        PersistedQueue(queue_dir(blocker, "main"), 10)


class StoppedClock:
    """Stands in for the queue's ``time`` module and its batch-delay waits: a wait advances the clock at
    once and is recorded, so a test sees whether get_batch would have waited, without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wait(self, timeout=None) -> bool:
        self.waits.append(timeout or 0.0)
        self.now += timeout or 0.0
        return False


def test_a_blocked_producer_does_not_make_the_worker_wait_for_a_fuller_batch(qdir, monkeypatch):
    # queue.max_events 10, 6 queued, a push of 6 blocked: waiting the batch delay for a batch of 8 would
    # only stall both, the push cannot come in before these 6 leave.
    import pipeline.queue.persisted as persisted

    queue = PersistedQueue(qdir, capacity_events=10)
    try:
        queue.put_blocking(events(6))
        accepted = []
        producer = threading.Thread(target=lambda: accepted.append(queue.put_blocking(events(6, 6), timeout=30)))
        producer.start()
        deadline = time.monotonic() + 30
        while not queue._waiters and time.monotonic() < deadline:
            time.sleep(0.001)
        assert queue._waiters, "the producer never blocked"
        clock = StoppedClock()
        monkeypatch.setattr(persisted, "time", clock)
        monkeypatch.setattr(queue._not_empty, "wait", clock.wait)
        batch = queue.get_batch(8, 0.05)
        monkeypatch.undo()
        assert clock.waits == []
        assert numbers(batch) == list(range(6))
        queue.ack(batch)
        producer.join(30)
        assert accepted == [True]
        assert numbers(drain(queue)) == list(range(6, 12))
    finally:
        queue.close()
