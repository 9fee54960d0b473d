"""Flow control of one connection: stop reading while windows wait or while acks go unread."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from pipeline.inputs.base import InputContext
from pipeline.inputs.beats.connection import BeatsConnection, BeatsStats, ConnectionSettings
from pipeline.lumberjack.frames import encode_ack, encode_window_frames
from pipeline.queue import MemoryQueue
from pipeline.queue.persisted import PersistedQueue
from pipeline.testing import build_plugin


class FakeTransport(asyncio.Transport):
    """Records what the connection asks of its socket."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.reading = True
        self.closing = False

    def get_extra_info(self, name, default=None):  # type: ignore[no-untyped-def]
        return ("192.0.2.7", 40000) if name == "peername" else default

    def write(self, data) -> None:  # type: ignore[no-untyped-def]
        self.written.append(bytes(data))

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True


def _window(n: int) -> bytes:
    return encode_window_frames([{"message": f"m{i}"} for i in range(n)], compress_level=None)[0]


async def _connection(capacity: int, queue: Any = None) -> tuple[BeatsConnection, FakeTransport, Any]:
    beats = build_plugin("input", "beats { port => 0 }")
    queue = MemoryQueue(capacity) if queue is None else queue
    ctx = InputContext(queue, beats.decorate, threading.Event(), asyncio.get_running_loop())
    settings = ConnectionSettings(ctx=ctx, stats=BeatsStats(), make_builder=beats._make_builder,
                                  max_frame_size=1 << 20, keepalive_interval=60)
    connection = BeatsConnection(settings)
    transport = FakeTransport()
    connection.connection_made(transport)
    return connection, transport, queue


def test_reading_pauses_while_two_windows_wait_for_a_full_queue() -> None:
    async def scenario() -> None:
        connection, transport, queue = await _connection(capacity=2)
        connection.data_received(_window(2))  # fills the queue
        await asyncio.sleep(0.01)
        assert transport.written == [encode_ack(2)]
        connection.data_received(_window(1) + _window(1))  # two windows, nowhere to go
        await asyncio.sleep(0.01)
        assert not transport.reading
        queue.get_batch(10, 0)  # a worker takes events: the windows flow, reading resumes
        for _ in range(100):
            await asyncio.sleep(0.01)
            if transport.reading:
                break
        assert transport.reading
        assert transport.written == [encode_ack(2), encode_ack(1), encode_ack(1)]
        queue.close()

    asyncio.run(scenario())


def test_reading_pauses_while_the_client_does_not_read_its_acks() -> None:
    async def scenario() -> None:
        connection, transport, _queue = await _connection(capacity=100)
        connection.pause_writing()  # asyncio: our write buffer is above its high-water mark
        assert not transport.reading
        connection.data_received(_window(1))
        await asyncio.sleep(0.01)
        assert not transport.reading  # still held: the acks are not being read
        connection.resume_writing()
        assert transport.reading
        assert transport.written == [encode_ack(1)]

    asyncio.run(scenario())


def test_peer_address_comes_from_the_socket() -> None:
    async def scenario() -> None:
        connection, _transport, queue = await _connection(capacity=10)
        connection.data_received(encode_window_frames([{"message": "x", "@metadata": {"beat": "f"}}])[0])
        await asyncio.sleep(0.01)
        [event] = queue.get_batch(10, 0)
        assert event.get("[@metadata][input][beats][host][ip]") == "192.0.2.7"
        assert connection.peer == "192.0.2.7:40000"

    asyncio.run(scenario())


def _pushes_of_one_window(queue: Any, size: int) -> list[int]:
    async def scenario() -> list[int]:
        connection, transport, _queue = await _connection(0, queue)
        pushes: list[int] = []
        push = connection.settings.ctx.push

        async def counting(events):  # type: ignore[no-untyped-def]
            events = list(events)
            pushes.append(len(events))
            await push(events)

        connection.settings.ctx.push = counting  # type: ignore[method-assign]
        connection.data_received(_window(size))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if transport.written:
                break
        assert transport.written == [encode_ack(size)]
        return pushes

    return asyncio.run(scenario())


def test_a_window_goes_to_a_persisted_queue_in_one_push(tmp_path: Path) -> None:
    # The persisted queue's default capacity is 0 (bounded by bytes only): that meant slices of ONE event.
    queue = PersistedQueue(tmp_path / "pq")
    try:
        assert queue.capacity == 0
        assert _pushes_of_one_window(queue, 300) == [300]
    finally:
        queue.close()


def test_a_window_larger_than_the_queues_push_limit_goes_in_even_pushes_within_it() -> None:
    queue = MemoryQueue(200)  # pushes of at most 100
    assert _pushes_of_one_window(queue, 150) == [75, 75]
    assert _pushes_of_one_window(MemoryQueue(200), 100) == [100]
