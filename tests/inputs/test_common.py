"""push_until_accepted (pipeline/inputs/_common.py): a queue that cannot write is retried, not skipped."""

from __future__ import annotations

import logging
import threading

import pytest

from pipeline.event import Event
from pipeline.inputs import _common
from pipeline.inputs.base import InputContext
from pipeline.queue import MemoryQueue
from pipeline.queue.persisted import QueueWriteError


class FailingOnceQueue(MemoryQueue):
    """A memory queue whose first push fails as a full disk makes a persisted queue fail."""

    def __init__(self, error: Exception) -> None:
        super().__init__(capacity=10)
        self.error: Exception | None = error
        self.attempts = 0

    def put_blocking(self, events: list[Event], timeout: float | None = None,
                     stopping: threading.Event | None = None) -> bool:
        self.attempts += 1
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return super().put_blocking(events, timeout, stopping)


def test_a_queue_write_error_is_retried_until_the_events_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common, "QUEUE_WRITE_RETRY_SECONDS", 0)
    queue = FailingOnceQueue(QueueWriteError("No space left on device"))
    ctx = InputContext(queue, None, threading.Event())
    events = [Event({"message": "kept"})]
    assert _common.push_until_accepted(ctx, events, logging.getLogger("test"), stop=threading.Event())
    assert queue.attempts == 2
    assert [e.get("message") for e in queue.get_batch(10, 0)] == ["kept"]


def test_other_errors_are_not_taken_for_a_queue_write_error() -> None:
    queue = FailingOnceQueue(RuntimeError("a bug"))
    ctx = InputContext(queue, None, threading.Event())
    with pytest.raises(RuntimeError, match="a bug"):
        _common.push_until_accepted(ctx, [Event({"message": "x"})], logging.getLogger("test"))
