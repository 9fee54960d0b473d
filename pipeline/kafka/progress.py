"""Which Kafka offsets may be committed: only those whose events (and every earlier one) are safe.

One consumer's polls are recorded in order; the pipeline acknowledges each poll's events
(possibly out of order, by different workers). The committable position of a partition is
the offset after the last message of the longest prefix of acknowledged polls, so a crash
re-reads from the first event not yet safe: at-least-once, never a gap.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterable

TopicPartition = tuple[str, int]


class Poll:
    """The next offset to read, per partition, once this poll's events are safe."""

    __slots__ = ("done", "next_offsets")

    def __init__(self, next_offsets: dict[TopicPartition, int]) -> None:
        self.next_offsets = next_offsets
        self.done = False


class OffsetProgress:
    """Polls in read order; ``mark_done`` from any thread, ``committable`` from the consumer's."""

    def __init__(self) -> None:
        self._polls: collections.deque[Poll] = collections.deque()
        self._changed = threading.Condition()

    def __len__(self) -> int:
        return len(self._polls)

    def add(self, next_offsets: dict[TopicPartition, int]) -> Poll:
        poll = Poll(next_offsets)
        with self._changed:
            self._polls.append(poll)
        return poll

    def mark_done(self, poll: Poll) -> None:
        with self._changed:
            poll.done = True
            self._changed.notify_all()

    def discard(self, poll: Poll) -> None:
        """A poll whose events never entered the queue (stopping): it must never be committed,
        nor anything after it (those polls are abandoned too)."""
        with self._changed:
            index = next((i for i, p in enumerate(self._polls) if p is poll), None)
            if index is not None:
                while len(self._polls) > index:
                    self._polls.pop()

    def committable(self) -> dict[TopicPartition, int]:
        """Positions to commit now (the acknowledged prefix); removes those polls."""
        positions: dict[TopicPartition, int] = {}
        with self._changed:
            while self._polls and self._polls[0].done:
                positions.update(self._polls.popleft().next_offsets)
        return positions

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Partitions revoked in a rebalance: their new owner re-reads what was not committed."""
        lost = set(partitions)
        with self._changed:
            for poll in self._polls:
                for key in lost & poll.next_offsets.keys():
                    del poll.next_offsets[key]

    def wait_all_done(self, timeout: float) -> bool:
        """Wait (bounded) until every recorded poll is acknowledged; True if they all are."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not all(p.done for p in self._polls):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.2))
        return True
