"""The persisted queue (``queue.type: persisted``): events kept on disk until a worker acknowledges them.

Same protocol as :class:`pipeline.queue.memory.MemoryQueue`; like Logstash's
persistent queue it survives a crash or restart: every event ``put`` accepted
and no worker acknowledged is delivered again (at least once; duplicates only
for batches that were in flight).

Layout, under ``<path.data>/queue/<pipeline_id>/``::

    .lock                              held (flock) by the one process using the queue
    checkpoint                         ack position N (every event with seq < N is done), written
                                       in place: magic, N, write seq, CRC32 (24 bytes)
    00000000000000000000.seg           segments, named by the seq of their first record,
    00000000000000012345.seg           appended to in order (records: see ``_records``)

``put`` appends the events' records to the head segment with one ``write``
before it returns, so the operating system holds them and a killed process
(``kill -9``) loses nothing. Every ``checkpoint_writes`` events (and every
``checkpoint_interval`` seconds) the written data is also ``fsync``-ed, which
is what survives a power loss. Acknowledged segments are deleted; the ack
position is saved in ``checkpoint`` every ``checkpoint_acks`` events, so a
crash re-delivers at most those (plus the batches in flight). Recently put
events are also kept in memory (``memory_events``) so a queue that keeps up
never reads its own files back.

Every event has a sequence number. Reading advances ``_read_seq``; a batch
handed to a worker remembers its first seq; the ack position is the first seq
of the oldest batch still in flight (or ``_read_seq`` when none is), so
batches acknowledged out of order are simply re-delivered after a crash.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import logging
import os
import pickle
import struct
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from pipeline.errors import PipelineError, QueueClosedError
from pipeline.event import Event
from pipeline.logs import RateLimitedLogger
from pipeline.queue._records import (
    HEADER,
    RECORD_EVENTS,
    Frame,
    decode_events,
    encode_events,
    frame,
    read_frames,
)
from pipeline.queue._waiters import Waiters
from pipeline.queue.push_size import EventCapacityPushLimit

log = logging.getLogger("pipeline.queue.persisted")
_limited = RateLimitedLogger(log)  # failures that repeat per record or per checkpoint

DEFAULT_MAX_BYTES = 1024 ** 3
DEFAULT_SEGMENT_BYTES = 64 * 1024 ** 2  # Logstash's queue.page_capacity
DEFAULT_CHECKPOINT_WRITES = 1024  # Logstash's queue.checkpoint.writes
DEFAULT_CHECKPOINT_ACKS = 1024  # Logstash's queue.checkpoint.acks
DEFAULT_CHECKPOINT_INTERVAL = 1.0  # seconds, Logstash's queue.checkpoint.interval
DEFAULT_MEMORY_EVENTS = 10_000
_RETIRE_BYTES = 1024 ** 2  # a fully acknowledged head segment this big is deleted at once
_SUFFIX = ".seg"
_CHECKPOINT = "checkpoint"
_CHECKPOINT_MAGIC = b"PQC1"
_CHECKPOINT_STATE = struct.Struct("<4sQQ")  # magic, acked seq, written seq; then CRC32 of those
_CRC32 = struct.Struct("<I")


class QueueLockedError(PipelineError):
    """Another process (or queue object) uses the same queue directory."""


class QueueWriteError(PipelineError):
    """Events could not be written to the queue directory (disk full, permissions...)."""


def queue_dir(path_data: Path | str, pipeline_id: str) -> Path:
    """Where the persisted queue of a pipeline lives."""
    return Path(path_data) / "queue" / pipeline_id


@dataclass(eq=False)
class _Segment:
    first_seq: int
    path: Path
    size: int = 0
    end_seq: int = 0  # seq after its last record
    write_fd: int | None = None  # only the head segment is open for writing
    read_fd: int | None = None

    def reader(self) -> int:
        if self.read_fd is None:
            self.read_fd = os.open(self.path, os.O_RDONLY)
        return self.read_fd

    def close(self) -> None:
        for fd in (self.write_fd, self.read_fd):
            if fd is not None:
                os.close(fd)
        self.write_fd = self.read_fd = None


class _Chunk(NamedTuple):
    """Events of one record held in memory (recently put, or decoded and not all taken yet),
    with where the record lies, to go on reading from disk after them."""

    events: list[Event]
    seq: int  # seq of events[0]
    segment: _Segment
    start: int  # the record's offsets in its segment
    end: int


class PersistedQueue(EventCapacityPushLimit):
    """A disk-backed queue, bounded by unread events (``capacity_events``, 0 = no limit) and by
    ``max_bytes`` of segment files. A batch larger than the limits is accepted when the queue is
    empty, so a big beats window can never deadlock."""

    def __init__(self, directory: Path | str, capacity_events: int = 0, max_bytes: int = DEFAULT_MAX_BYTES, *,
                 segment_bytes: int = DEFAULT_SEGMENT_BYTES,
                 checkpoint_writes: int = DEFAULT_CHECKPOINT_WRITES,
                 checkpoint_acks: int = DEFAULT_CHECKPOINT_ACKS,
                 checkpoint_interval: float = DEFAULT_CHECKPOINT_INTERVAL,
                 memory_events: int = DEFAULT_MEMORY_EVENTS, drain: bool = True) -> None:
        if max_bytes < 1024:
            raise ValueError(f"queue max_bytes must be at least 1kb, got {max_bytes}")
        if segment_bytes < 1024:
            raise ValueError(f"queue segment size must be at least 1kb, got {segment_bytes}")
        self.directory = Path(directory)
        self.capacity = max(0, int(capacity_events))
        self.max_bytes = int(max_bytes)
        self.segment_bytes = min(int(segment_bytes), self.max_bytes)
        self.checkpoint_writes = max(1, int(checkpoint_writes))
        self.checkpoint_acks = max(1, int(checkpoint_acks))
        self.checkpoint_interval = checkpoint_interval
        self.memory_events = max(0, int(memory_events))
        self.drain = drain
        self.accepted = 0
        self.corrupt_records = 0  # records skipped because unreadable (counted, logged)
        self._retire_bytes = min(_RETIRE_BYTES, self.segment_bytes // 2)

        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._waiters = Waiters(self._lock, self._not_empty)  # producers (threads and tasks) waiting for room
        self._closed = False
        self._finished = threading.Event()

        self._segments: list[_Segment] = []
        self._head: _Segment | None = None
        self._bytes = 0
        self._write_seq = 0
        self._read_seq = 0
        self._acked_seq = 0
        self._checkpointed_seq = 0
        self._read_segment: _Segment | None = None
        self._read_offset = 0
        self._cache: collections.deque[_Chunk] = collections.deque()  # the newest unread events
        self._cache_start = 0
        self._cache_events = 0
        self._leftover: _Chunk | None = None  # rest of a record read from disk, starts at _read_seq
        self._inflight: dict[int, tuple[int, list[Event]]] = {}  # id(batch) -> (first seq, batch)
        self._unsynced = 0
        self._sync_fds: list[int] = []  # dup'ed fds of sealed segments not yet fsync-ed
        self._dir_dirty = False
        self._doomed: list[Path] = []  # files of deleted segments, unlinked outside the lock
        self._checkpoint_fd: int | None = None

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(self.directory / ".lock", "a+")  # held until finished
        except OSError as exc:
            raise QueueWriteError(f"persisted queue: cannot use {self.directory}: {exc.strerror or exc} "
                                  "(check path.data and its permissions)") from exc
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock_file.close()
            raise QueueLockedError(f"persisted queue {self.directory} is in use by another process "
                                   "(each pipeline needs its own pipeline id or path.data)") from exc
        try:
            self._recover()
        except OSError as exc:
            self._release_files()
            raise QueueWriteError(f"persisted queue {self.directory}: cannot read back the queue files: "
                                  f"{exc.strerror or exc} (check path.data and its permissions)") from exc
        except BaseException:
            self._release_files()
            raise
        _unlink(self._take_doomed())
        if checkpoint_interval > 0:
            threading.Thread(target=self._flush_periodically, daemon=True,
                             name=f"queue-flusher-{self.directory.name}").start()

    # -- protocol -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Events not yet read by a worker."""
        return self._write_seq - self._read_seq

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def unacked(self) -> int:
        """Events put and not yet acknowledged (still on disk)."""
        return self._write_seq - self._acked_seq

    @property
    def bytes_used(self) -> int:
        """Bytes of the segment files, what ``max_bytes`` bounds."""
        return self._bytes

    def stats(self) -> dict[str, Any]:
        """Counters in the shape of Logstash's ``_node/stats`` pipeline ``queue`` section (plus ours)."""
        try:
            free = os.statvfs(self.directory)
            free_bytes = free.f_bavail * free.f_frsize
        except OSError:
            free_bytes = None
        return {
            "type": "persisted", "events_count": len(self), "queue_size_in_bytes": self._bytes,
            "max_queue_size_in_bytes": self.max_bytes,
            "capacity": {"max_unread_events": self.capacity, "page_capacity_in_bytes": self.segment_bytes,
                         "max_queue_size_in_bytes": self.max_bytes, "queue_size_in_bytes": self._bytes},
            "data": {"path": str(self.directory), "free_space_in_bytes": free_bytes},
            "unacked": self.unacked, "accepted": self.accepted, "corrupt_records": self.corrupt_records,
        }

    def try_put(self, events: list[Event]) -> bool:
        """Accept the events if they fit now; False if the queue is full."""
        if not events:
            return True
        payloads, events = encode_events(events)
        with self._lock:
            self._check_open()
            if not self._fits(len(events), _size(payloads)):
                return False
            sync = self._append(events, payloads)
            doomed = self._take_doomed()
        _unlink(doomed)
        self._sync(sync)
        return True

    async def put(self, events: list[Event]) -> None:
        """Accept events, waiting (without blocking the loop) while full; fsyncs in a thread."""
        if not events:
            return
        loop = asyncio.get_running_loop()
        payloads, events = encode_events(events)
        size = _size(payloads)
        while True:
            with self._lock:
                self._check_open()
                if self._fits(len(events), size):
                    sync = self._append(events, payloads)
                    doomed = self._take_doomed()
                    break
                waiter = self._waiters.add(loop, len(events))
            await self._waiters.sleep(waiter)
        if doomed:  # unlinking big files takes milliseconds: not on the event loop
            await loop.run_in_executor(None, _unlink, doomed)
        if sync:
            await loop.run_in_executor(None, self._sync, sync)

    def put_blocking(self, events: list[Event], timeout: float | None = None,
                     stopping: threading.Event | None = None) -> bool:
        """Accept events from a thread; False if not accepted before timeout or stop."""
        if not events:
            return True
        payloads, events = encode_events(events)
        size = _size(payloads)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                self._check_open()
                if self._fits(len(events), size):
                    sync = self._append(events, payloads)
                    doomed = self._take_doomed()
                    break
                if stopping is not None and stopping.is_set() and timeout is not None:
                    return False
                remaining = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
                if remaining <= 0:
                    return False
                self._waiters.wait(len(events), remaining)
        _unlink(doomed)
        self._sync(sync)
        return True

    def get_batch(self, size: int, delay: float) -> list[Event] | None:
        """Up to ``size`` events; ``[]`` after ``delay`` with nothing; None once closed and drained."""
        deadline = time.monotonic() + delay
        with self._not_empty:
            while not len(self) or (self._closed and not self.drain):
                if self._closed:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._not_empty.wait(remaining)
            # Wait briefly for a fuller batch, as Logstash's batch delay does, unless a producer waits for
            # room: it waits for this batch to leave (max_events) or to be acknowledged (max_bytes).
            while len(self) < size and not self._closed and not self._waiters:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._not_empty.wait(remaining)
            first_seq = self._read_seq
            batch = self._take(max(1, size))
            if batch:
                self._inflight[id(batch)] = (first_seq, batch)
            else:  # everything read was unreadable (counted, logged): nothing for a worker to ack
                self._advance_acks()
            self._wake_producers()
            if len(self):
                self._not_empty.notify()
            return batch

    def ack(self, batch: list[Event]) -> None:
        """The worker is done with ``batch`` (the list get_batch returned): its records may go."""
        with self._lock:
            if self._inflight.pop(id(batch), None) is None:
                return  # not ours, or acknowledged twice
            self._advance_acks()
            self._wake_producers()
            self._finish_if_done()
            doomed = self._take_doomed()
        _unlink(doomed)

    def close(self) -> None:
        """No more puts; get_batch drains what is left (unless ``drain=False``), then returns None."""
        with self._lock:
            self._closed = True
            self._not_empty.notify_all()
            self._wake_producers()
            self._finish_if_done()

    # -- writing --------------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise QueueClosedError("queue is closed")

    def _fits(self, count: int, size: int) -> bool:
        unread = len(self)
        if self.capacity and unread and unread + count > self.capacity:
            return False
        if self._bytes and self._bytes + size > self.max_bytes:
            if self._acked_seq < self._write_seq:
                return False
            self._retire_all()  # everything on disk is acknowledged: start afresh
        return True

    def _append(self, events: list[Event], payloads: list[bytes]) -> list[int]:
        """Write the records with one write (lock held); returns fds to fsync if a checkpoint is due."""
        count = len(events)
        seq = self._write_seq
        frames = [frame(seq + i * RECORD_EVENTS, min(RECORD_EVENTS, count - i * RECORD_EVENTS), payload)
                  for i, payload in enumerate(payloads)]
        size = sum(map(len, frames))
        head = self._head
        if head is None or (head.size and head.size + size > self.segment_bytes):
            try:
                head = self._new_head()
            except OSError as exc:
                raise QueueWriteError(f"persisted queue {self.directory}: cannot create a segment file: "
                                      f"{exc.strerror or exc}") from exc
        assert head.write_fd is not None
        start = head.size
        try:
            _write_all(head.write_fd, b"".join(frames))
        except OSError as exc:
            with contextlib.suppress(OSError):  # never leave half a record behind
                os.ftruncate(head.write_fd, start)
            raise QueueWriteError(f"persisted queue {self.directory}: cannot write {count} event(s): "
                                  f"{exc.strerror or exc}; free disk space or lower queue.max_bytes") from exc
        head.size += size
        self._bytes += size
        if not self._cache:
            self._cache_start = seq
        if self._cache_start + self._cache_events == seq and self._cache_events + count <= self.memory_events:
            offset = start
            for i, record in enumerate(frames):
                # slices are copies: the input may reuse its list once put returns
                chunk = events[i * RECORD_EVENTS:(i + 1) * RECORD_EVENTS]
                self._cache.append(_Chunk(chunk, seq + i * RECORD_EVENTS, head, offset, offset + len(record)))
                offset += len(record)
            self._cache_events += count
        self._write_seq = head.end_seq = seq + count
        self.accepted += count
        self._unsynced += count
        self._not_empty.notify()
        if self._unsynced < self.checkpoint_writes:
            return []
        return self._take_sync_fds()

    def _take_sync_fds(self) -> list[int]:
        """fds to fsync for a checkpoint (dups, so closing or deleting a segment meanwhile is harmless)."""
        fds, self._sync_fds = self._sync_fds, []
        if self._head is not None and self._head.write_fd is not None and self._unsynced:
            fds.append(os.dup(self._head.write_fd))
        if self._dir_dirty:
            fds.append(os.open(self.directory, os.O_RDONLY))
            self._dir_dirty = False
        self._unsynced = 0
        return fds

    def _sync(self, fds: list[int]) -> None:
        for fd in fds:
            try:
                os.fsync(fd)
            except OSError as exc:
                _limited.error("fsync", "persisted queue %s: fsync failed: %s", self.directory, exc)
            finally:
                os.close(fd)

    def _new_head(self) -> _Segment:
        """Start a segment at the write position; the old head is sealed (fsync-ed at the next checkpoint)."""
        path = self.directory / f"{self._write_seq:020d}{_SUFFIX}"
        if path in self._doomed:  # an empty head retired a moment ago: remove it before reusing its name
            self._doomed.remove(path)
            path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
        old = self._head
        if old is not None and old.write_fd is not None:
            self._sync_fds.append(old.write_fd)
            old.write_fd = None
            self._unsynced = max(self._unsynced, 1)
        head = _Segment(self._write_seq, path, end_seq=self._write_seq, write_fd=fd)
        self._segments.append(head)
        self._head = head
        self._dir_dirty = True
        return head

    # -- reading --------------------------------------------------------------------------------------
    def _take(self, size: int) -> list[Event]:
        """Up to ``size`` unread events, in order (lock held): a record's rest, disk, then memory."""
        taken: list[Event] = []
        while len(taken) < size and self._read_seq < self._write_seq:
            wanted = size - len(taken)
            if self._leftover is not None:
                self._leftover = self._take_from(self._leftover, wanted, taken)
            elif self._cache and self._read_seq == self._cache_start:
                chunk = self._cache.popleft()
                self._cache_events -= len(chunk.events)
                rest = self._take_from(chunk, wanted, taken)
                if rest is not None:
                    self._cache.appendleft(rest)
                    self._cache_events += len(rest.events)
                self._cache_start = self._read_seq
            else:
                self._read_disk(size, taken)
        return taken

    def _take_from(self, chunk: _Chunk, wanted: int, taken: list[Event]) -> _Chunk | None:
        """Take up to ``wanted`` events of ``chunk`` (which starts at the read position); returns the rest."""
        events = chunk.events
        if wanted >= len(events):
            taken.extend(events)
            self._read_seq = chunk.seq + len(events)
            self._read_segment, self._read_offset = chunk.segment, chunk.end
            return None
        taken.extend(events[:wanted])
        self._read_seq = chunk.seq + wanted
        # Mid-record: reading from disk would start again at the record (and skip what was taken).
        self._read_segment, self._read_offset = chunk.segment, chunk.start
        return chunk._replace(events=events[wanted:], seq=self._read_seq)

    def _read_disk(self, size: int, taken: list[Event]) -> None:
        """Read records from the read position until ``taken`` holds ``size`` events (lock held)."""
        segment = self._read_segment
        if segment is None or segment not in self._segments:
            if not self._segments:  # files removed behind our back: nothing left to read
                target = self._cache_start if self._cache else self._write_seq
                self.corrupt_records += target - self._read_seq
                log.error("persisted queue %s: segment files missing: events %d to %d lost", self.directory,
                          self._read_seq, target - 1)
                self._read_seq = target
                return
            segment = self._locate(self._read_seq)
        while self._read_offset >= segment.size:
            following = self._after(segment)
            if following is None:
                self._skip_to_readable(segment, "records missing from the segment files")
                return
            segment = self._read_segment = following
            self._read_offset = 0
        limit = (self._cache_start if self._cache else self._write_seq) - self._read_seq
        frames, problem = read_frames(segment.reader(), self._read_offset, segment.size,
                                      min(size - len(taken), limit))
        for item in frames:
            if item.end_seq <= self._read_seq:
                self._read_offset = item.end
                continue  # acknowledged before a restart
            if item.seq > self._read_seq:
                self._count_lost(self._read_seq, item.seq, segment, "records missing")
                self._read_seq = item.seq
            events = self._decode(item, segment)
            if events is None:
                self._read_seq, self._read_offset = item.end_seq, item.end
                continue
            skip = self._read_seq - item.seq  # taken before a restart, or by a partial take
            chunk = _Chunk(events[skip:], self._read_seq, segment, item.start, item.end)
            rest = self._take_from(chunk, size - len(taken), taken)
            if rest is not None:
                self._leftover = rest
                return
        if problem is not None:
            self._skip_to_readable(segment, problem.reason)

    def _skip_to_readable(self, segment: _Segment, reason: str) -> None:
        """A segment cannot be read further: go on with the next one, saying what was lost."""
        following = self._after(segment)
        target = following.first_seq if following is not None else self._write_seq
        if self._cache:
            target = min(target, self._cache_start)
        self._count_lost(self._read_seq, target, segment, reason)
        self._read_seq = max(self._read_seq, target)
        if following is not None and target == following.first_seq:
            self._read_segment, self._read_offset = following, 0
        else:
            self._read_segment = None  # located again from the seq at the next read

    def _count_lost(self, first: int, end: int, segment: _Segment, reason: str) -> None:
        if end <= first:
            return
        self.corrupt_records += end - first
        _limited.warning("skip", "persisted queue %s: %s in %s: events %d to %d (%d) skipped",
                         self.directory, reason, segment.path.name, first, end - 1, end - first)

    def _locate(self, seq: int) -> _Segment:
        candidates = [s for s in self._segments if s.first_seq <= seq] or self._segments[:1]
        segment = candidates[-1]
        self._read_segment, self._read_offset = segment, 0
        return segment

    def _after(self, segment: _Segment) -> _Segment | None:
        index = self._segments.index(segment)
        return self._segments[index + 1] if index + 1 < len(self._segments) else None

    def _decode(self, item: Frame, segment: _Segment) -> list[Event] | None:
        try:
            return decode_events(item.payload, item.count)
        except (pickle.UnpicklingError, ValueError, EOFError, TypeError, AttributeError, IndexError) as exc:
            self.corrupt_records += item.count
            _limited.error("decode", "persisted queue %s: events %d to %d in %s cannot be decoded and are "
                           "skipped: %s", self.directory, item.seq, item.end_seq - 1, segment.path.name, exc)
            return None

    # -- acknowledging --------------------------------------------------------------------------------
    def _advance_acks(self) -> None:
        """Everything before the oldest batch in flight (or the read position) is acknowledged."""
        acked = min((first for first, _ in self._inflight.values()), default=self._read_seq)
        if acked <= self._acked_seq:
            return
        self._acked_seq = acked
        while self._segments and self._segments[0] is not self._head and self._segments[0].end_seq <= acked:
            self._delete(self._segments.pop(0))
        head = self._head
        if head is not None and acked == self._write_seq and head.size >= self._retire_bytes:
            self._retire_all()
        if acked - self._checkpointed_seq >= self.checkpoint_acks:
            self._write_checkpoint()

    def _retire_all(self) -> None:
        """Every record is acknowledged: delete every segment, the head included."""
        for segment in self._segments:
            self._delete(segment)
        self._segments.clear()
        self._head = None
        self._cache.clear()
        self._cache_events = 0
        self._leftover = None
        self._read_segment = None
        self._unsynced = 0

    def _delete(self, segment: _Segment) -> None:
        """Forget a segment; its file is unlinked after the lock is released (a big unlink takes ms)."""
        self._bytes -= segment.size
        if self._read_segment is segment:
            self._read_segment = None
        segment.close()
        self._doomed.append(segment.path)
        self._dir_dirty = True

    def _take_doomed(self) -> list[Path]:
        doomed, self._doomed = self._doomed, []
        return doomed

    def _write_checkpoint(self) -> None:
        """Save the ack position: one small in-place write (a rename per checkpoint costs ~1 ms here)."""
        state = _CHECKPOINT_STATE.pack(_CHECKPOINT_MAGIC, self._acked_seq, self._write_seq)
        try:
            if self._checkpoint_fd is None:
                self._checkpoint_fd = os.open(self.directory / _CHECKPOINT, os.O_RDWR | os.O_CREAT, 0o600)
            os.pwrite(self._checkpoint_fd, state + _CRC32.pack(zlib.crc32(state)), 0)
            self._checkpointed_seq = self._acked_seq
        except OSError as exc:  # only costs duplicates after a crash
            _limited.warning("checkpoint", "persisted queue %s: cannot save the ack checkpoint: %s",
                             self.directory, exc)

    # -- start and finish -----------------------------------------------------------------------------
    def _recover(self) -> None:
        """Find the segments and the ack position left by the previous run; cut a torn tail."""
        acked = self._read_checkpoint()
        found = []
        for path in self.directory.glob(f"*{_SUFFIX}"):
            try:
                found.append(_Segment(int(path.name[:-len(_SUFFIX)]), path, path.stat().st_size))
            except ValueError:
                log.warning("persisted queue %s: ignoring unexpected file %s", self.directory, path.name)
        found.sort(key=lambda s: s.first_seq)
        for segment, following in zip(found, found[1:], strict=False):
            segment.end_seq = following.first_seq  # segments are contiguous
        if found:
            self._scan_last(found[-1])
        self._write_seq = max([acked] + [s.end_seq for s in found[-1:]])
        for segment in [s for s in found if not s.size]:  # created just before a crash
            segment.path.unlink()
            found.remove(segment)
        for segment in found:
            self._bytes += segment.size
            self._segments.append(segment)
        self._acked_seq = self._checkpointed_seq = acked
        while self._segments and self._segments[0].end_seq <= acked:
            self._delete(self._segments.pop(0))
        first = self._segments[0].first_seq if self._segments else self._write_seq
        self._read_seq = max(acked, first)
        self._acked_seq = self._read_seq
        self._cache_start = self._write_seq
        if len(self):
            log.info("persisted queue %s: %d event(s) from the previous run will be delivered (again)",
                     self.directory, len(self))

    def _scan_last(self, segment: _Segment) -> None:
        """The last segment may end in a record torn by a crash: find the end of the good records."""
        fd = os.open(segment.path, os.O_RDONLY)
        offset, last_seq, problem = 0, None, None
        try:
            while True:
                frames, problem = read_frames(fd, offset, segment.size, 100_000)
                if frames:
                    offset, last_seq = frames[-1].end, frames[-1].end_seq - 1
                if problem is not None or not frames:
                    break
        finally:
            os.close(fd)
        segment.end_seq = segment.first_seq if last_seq is None else last_seq + 1
        if problem is not None or offset != segment.size:
            log.warning("persisted queue %s: %s ends in a torn or corrupt record (%s, %d byte(s) at offset "
                        "%d), probably a crash while writing: removed; events before it are kept",
                        self.directory, segment.path.name, problem.reason if problem else "incomplete",
                        segment.size - offset, offset)
            self.corrupt_records += 1
            os.truncate(segment.path, offset)
            segment.size = offset

    def _read_checkpoint(self) -> int:
        path = self.directory / _CHECKPOINT
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return 0
        except OSError as exc:
            data, problem = b"", str(exc)
        else:
            problem = "damaged"
        size = _CHECKPOINT_STATE.size
        if len(data) == size + _CRC32.size and zlib.crc32(data[:size]) == _CRC32.unpack_from(data, size)[0]:
            magic, acked, _written = _CHECKPOINT_STATE.unpack_from(data)
            if magic == _CHECKPOINT_MAGIC:
                return int(acked)
        log.warning("persisted queue %s: checkpoint file %s: every event still on disk is delivered again",
                    self.directory, problem)
        return 0

    def _finish_if_done(self) -> None:
        """Closed, drained (or not draining) and nothing in flight: save state and let the files go."""
        if not self._closed or self._inflight or self._finished.is_set() or (self.drain and len(self)):
            return
        self._advance_acks()
        if self._acked_seq == self._write_seq and self._segments:
            self._retire_all()
        self._sync(self._take_sync_fds())
        self._write_checkpoint()
        self._release_files()

    def _release_files(self) -> None:
        self._finished.set()
        for segment in self._segments:
            segment.close()
        _unlink(self._take_doomed())
        if self._checkpoint_fd is not None:
            os.close(self._checkpoint_fd)
            self._checkpoint_fd = None
        self._sync(self._sync_fds)
        self._sync_fds = []
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
        self._lock_file.close()

    def _flush_periodically(self) -> None:
        """``checkpoint_interval``: written data fsync-ed, ack position saved, even when idle."""
        while not self._finished.wait(self.checkpoint_interval):
            with self._lock:
                if self._finished.is_set():
                    return
                fds = self._take_sync_fds() if (self._unsynced or self._sync_fds or self._dir_dirty) else []
                if self._acked_seq != self._checkpointed_seq:
                    self._write_checkpoint()
                doomed = self._take_doomed()
            _unlink(doomed)
            self._sync(fds)

    def _wake_producers(self) -> None:
        # Whether a push fits depends on bytes and acknowledgements too: every producer tries again.
        self._waiters.wake_all()


@dataclass(frozen=True)
class PersistedQueueSettings:
    """The ``queue.*`` settings of ``logstash.yml`` for a persisted queue (Logstash's names and units)."""

    max_bytes: int = DEFAULT_MAX_BYTES  # queue.max_bytes ("1gb")
    page_capacity: int = DEFAULT_SEGMENT_BYTES  # queue.page_capacity ("64mb"): segment file size
    checkpoint_writes: int = DEFAULT_CHECKPOINT_WRITES  # queue.checkpoint.writes
    checkpoint_acks: int = DEFAULT_CHECKPOINT_ACKS  # queue.checkpoint.acks
    checkpoint_interval: float = DEFAULT_CHECKPOINT_INTERVAL  # queue.checkpoint.interval (ms, or "1s")
    drain: bool = False  # queue.drain: as Logstash, a stop leaves unread events on disk for the next start

    @classmethod
    def from_settings(cls, values: Mapping[str, Any]) -> PersistedQueueSettings:
        """From flat dotted keys (``{"queue.max_bytes": "4gb", ...}``); ValueError names a bad key."""
        from pipeline.plugin import ByteSize, Duration

        def read(key: str, convert: Callable[[Any], Any], default: Any) -> Any:
            if values.get(key) is None:
                return default
            try:
                return convert(values[key])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"setting {key}: invalid value {values[key]!r} ({exc})") from None

        def millis(value: Any) -> float:
            if isinstance(value, (int, float)) and not isinstance(value, bool) or str(value).isdigit():
                return float(value) / 1000  # Logstash gives this one in milliseconds
            return float(Duration.parse(value))

        def count(value: Any) -> int:
            if isinstance(value, bool) or int(value) < 0:
                raise ValueError("expected a number of events, 0 or more")
            return int(value)

        def flag(value: Any) -> bool:
            if isinstance(value, bool):
                return value
            if str(value).lower() not in ("true", "false"):
                raise ValueError("expected true or false")
            return str(value).lower() == "true"

        return cls(max_bytes=read("queue.max_bytes", ByteSize.parse, DEFAULT_MAX_BYTES),
                   page_capacity=read("queue.page_capacity", ByteSize.parse, DEFAULT_SEGMENT_BYTES),
                   checkpoint_writes=read("queue.checkpoint.writes", count, DEFAULT_CHECKPOINT_WRITES),
                   checkpoint_acks=read("queue.checkpoint.acks", count, DEFAULT_CHECKPOINT_ACKS),
                   checkpoint_interval=read("queue.checkpoint.interval", millis, DEFAULT_CHECKPOINT_INTERVAL),
                   drain=read("queue.drain", flag, False))

    def open(self, path_data: Path | str, pipeline_id: str, capacity_events: int = 0) -> PersistedQueue:
        """The queue of a pipeline under ``<path.data>/queue/<pipeline_id>/``."""
        # Logstash: 0 for checkpoint.writes/acks means "no limit"; here that is a very large count.
        return PersistedQueue(queue_dir(path_data, pipeline_id), capacity_events, self.max_bytes,
                              segment_bytes=self.page_capacity,
                              checkpoint_writes=self.checkpoint_writes or 2 ** 62,
                              checkpoint_acks=self.checkpoint_acks or 2 ** 62,
                              checkpoint_interval=self.checkpoint_interval, drain=self.drain)


def _size(payloads: list[bytes]) -> int:
    return sum(map(len, payloads)) + HEADER.size * len(payloads)


def _unlink(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


__all__ = ["PersistedQueue", "PersistedQueueSettings", "QueueLockedError", "QueueWriteError", "queue_dir"]
