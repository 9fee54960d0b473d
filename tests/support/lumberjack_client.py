"""Test support for the beats input: run a real input on 127.0.0.1 and read acks like a client.

``RunningBeats`` serves a beats input in a background event loop with a real
MemoryQueue and a consumer thread that collects what the input pushed.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from pipeline.event import Event
from pipeline.inputs.base import InputContext
from pipeline.lumberjack.frames import ACK, FrameParser
from pipeline.plugin import build_from_dict
from pipeline.queue import MemoryQueue
from pipeline.testing import build_plugin


class RunningBeats:
    """A beats input serving in a thread; ``events`` fills as a consumer drains the queue."""

    def __init__(self, options: dict[str, Any] | str, capacity: int = 100_000, consume: bool = True,
                 keepalive_interval: float | None = None, defer_decoding: bool = False) -> None:
        if isinstance(options, str):  # config text, as users write it
            self.input = build_plugin("input", f'beats {{ host => "127.0.0.1" port => 0 {options} }}',
                                      register=False)
        else:
            self.input = build_from_dict("input", "beats", {"host": "127.0.0.1", "port": 0, **options})
        if keepalive_interval is not None:
            self.input.keepalive_interval = keepalive_interval
        self.input.register()
        self.queue = MemoryQueue(capacity)
        self.stopping = threading.Event()
        self.events: list[Event] = []
        self.consuming = threading.Event()
        if consume:
            self.consuming.set()
        self.loop = asyncio.new_event_loop()
        self.ctx = InputContext(self.queue, self.input.decorate, self.stopping, self.loop)
        self.ctx.defer_decoding = defer_decoding  # as with worker processes: payloads queued undecoded
        self._crash: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._consumer = threading.Thread(target=self._consume, daemon=True)
        self._thread.start()
        self._consumer.start()
        deadline = time.monotonic() + 10
        while self.input.bound_port is None:
            if self._crash is not None or time.monotonic() > deadline:
                raise RuntimeError(f"beats input did not start: {self._crash!r}")
            time.sleep(0.01)
        self.port: int = self.input.bound_port

    def _serve(self) -> None:
        try:
            self.loop.run_until_complete(self.input.run(self.ctx))
        except BaseException as exc:  # noqa: BLE001 - reported by the fixture
            self._crash = exc

    def _consume(self) -> None:
        while True:
            self.consuming.wait()
            batch = self.queue.get_batch(500, 0.05)
            if batch is None:
                return
            self.events.extend(batch)

    def wait_events(self, count: int, timeout: float = 20.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.events

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self) -> None:
        self.stopping.set()
        self.consuming.set()
        self._thread.join(10)
        self.queue.close()
        self._consumer.join(5)
        self.loop.close()
        if self._crash is not None:
            raise self._crash




def read_acks_until(sock: socket.socket, seq: int, timeout: float = 10) -> list[tuple[int, int]]:
    """(version, seq) of every ack, keepalives included, up to the first ack of ``seq``."""
    parser = FrameParser(accept=(ACK,))
    acks: list[tuple[int, int]] = []
    sock.settimeout(timeout)
    while not acks or acks[-1][1] != seq:
        chunk = sock.recv(4096)
        if not chunk:
            break
        acks.extend((version, got) for _kind, version, got, _ in parser.feed(chunk))
    return acks


def start_beats(started: list[RunningBeats], options: dict[str, Any] | str | None = None,
                **kwargs: Any) -> RunningBeats:
    server = RunningBeats(options or {}, **kwargs)
    started.append(server)
    return server
