"""The persisted queue (``queue.type: persisted``): events kept on disk until a worker acknowledges them.

Same protocol as :class:`pipeline.queue.memory.MemoryQueue`; like Logstash's
persistent queue it survives a crash or restart: every event ``put`` accepted
and no worker acknowledged is delivered again (at least once; duplicates only
for batches that were in flight).

Layout, under ``<path.data>/queue/<pipeline_id>/``::

    .lock                              held (flock) by the one process using the queue
    checkpoint                         {"acked": N}: every event with seq < N is acknowledged
    00000000000000000000.seg           segments, named by the seq of their first record,
    00000000000000012345.seg           appended to in order (records: see ``_records``)

``put`` appends the events' records to the head segment with one ``write``
before it returns, so the operating system holds them and a killed process
(``kill -9``) loses nothing. Every ``checkpoint_writes`` events (and every
``checkpoint_interval`` seconds) the written data is also ``fsync``-ed, which
is what survives a power loss. Acknowledged segments are deleted; the ack
position is saved in ``checkpoint`` every ``checkpoint_acks`` events, so a
crash re-delivers at most those. Recently put events are also kept in memory
(``memory_events``) so a queue that keeps up never reads its own files back.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import logging
import os
import pickle
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import orjson

from pipeline.errors import PipelineError, QueueClosedError
from pipeline.event import Event
from pipeline.queue._records import HEADER, Frame, decode_event, encode_events, frame, read_frames

log = logging.getLogger("pipeline.queue.persisted")

DEFAULT_MAX_BYTES = 1024 ** 3
DEFAULT_SEGMENT_BYTES = 64 * 1024 ** 2  # Logstash's queue.page_capacity
DEFAULT_CHECKPOINT_WRITES = 1024  # Logstash's queue.checkpoint.writes
DEFAULT_CHECKPOINT_ACKS = 1024  # Logstash's queue.checkpoint.acks
DEFAULT_CHECKPOINT_INTERVAL = 1.0  # seconds, Logstash's queue.checkpoint.interval
DEFAULT_MEMORY_EVENTS = 10_000
_RETIRE_BYTES = 1024 ** 2  # a fully acknowledged head segment this big is deleted at once
_SUFFIX = ".seg"
_CHECKPOINT = "checkpoint"


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


class _Cached(NamedTuple):
    """A recently put event, with where its record lies (to continue reading from disk after it)."""

    event: Event
    segment: _Segment
    end: int


class PersistedQueue:
    """A disk-backed queue, bounded by unread events (``capacity_events``, 0 = no limit) and by
    ``max_bytes`` of segment files. A batch larger than the limits is accepted when the queue is
    empty, so a big beats window can never deadlock."""

    def __init__(self, directory: Path | str, capacity_events: int = 0, max_bytes: int = DEFAULT_MAX_BYTES, *,
                 segment_bytes: int = DEFAULT_SEGMENT_BYTES, checkpoint_writes: int = DEFAULT_CHECKPOINT_WRITES,
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
        self._not_full = threading.Condition(self._lock)
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
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
        self._cache: collections.deque[_Cached] = collections.deque()
        self._cache_start = 0
        self._inflight: dict[int, tuple[int, list[Event]]] = {}  # id(batch) -> (first seq, batch)
        self._unsynced = 0
        self._sync_fds: list[int] = []  # dup'ed fds of sealed segments not yet fsync-ed
        self._dir_dirty = False

        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.directory / ".lock", "a+")  # held until finished
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock_file.close()
            raise QueueLockedError(f"persisted queue {self.directory} is in use by another process "
                                   "(each pipeline needs its own pipeline id or path.data)") from exc
        try:
            self._recover()
        except BaseException:
            self._release_files()
            raise
        self._flusher = threading.Thread(target=self._flush_periodically, daemon=True,
                                         name=f"queue-flusher-{self.directory.name}")
        self._flusher.start()

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

    def try_put(self, events: list[Event]) -> bool:
        """Accept the events if they fit now; False if the queue is full."""
        if not events:
            return True
        records = encode_events(events)
        with self._lock:
            self._check_open()
            if not self._fits(len(records), _size(records)):
                return False
            sync = self._append(events, records)
        self._sync(sync)
        return True

    async def put(self, events: list[Event]) -> None:
        """Accept events, waiting (without blocking the loop) while full; fsyncs in a thread."""
        if not events:
            return
        loop = asyncio.get_running_loop()
        records = encode_events(events)
        size = _size(records)
        while True:
            with self._lock:
                self._check_open()
                if self._fits(len(records), size):
                    sync = self._append(events, records)
                    break
                waiter: asyncio.Future[None] = loop.create_future()
                self._async_waiters.append((loop, waiter))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout=0.5)
        if sync:
            await loop.run_in_executor(None, self._sync, sync)

    def put_blocking(self, events: list[Event], timeout: float | None = None,
                     stopping: threading.Event | None = None) -> bool:
        """Accept events from a thread; False if not accepted before timeout or stop."""
        if not events:
            return True
        records = encode_events(events)
        size = _size(records)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._not_full:
            while True:
                self._check_open()
                if self._fits(len(records), size):
                    sync = self._append(events, records)
                    break
                if stopping is not None and stopping.is_set() and timeout is not None:
                    return False
                remaining = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
                if remaining <= 0:
                    return False
                self._not_full.wait(remaining)
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
            # Wait briefly for a fuller batch, as Logstash's batch delay does.
            while len(self) < size and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._not_empty.wait(remaining)
            first_seq = self._read_seq
            payloads, cached = self._take(max(1, size))
            batch: list[Event] = []
            self._inflight[id(batch)] = (first_seq, batch)
            self._wake_producers()
            if len(self):
                self._not_empty.notify()
        # Decoding is CPU work: done outside the lock, the batch is this worker's alone.
        for frame_ in payloads:
            event = self._decode(frame_)
            if event is not None:
                batch.append(event)
        batch.extend(cached)
        if not batch:  # everything read was unreadable: nothing for the worker to ack
            self.ack(batch)
        return batch

    def ack(self, batch: list[Event]) -> None:
        """The worker is done with ``batch`` (the list get_batch returned): its records may go."""
        with self._lock:
            if self._inflight.pop(id(batch), None) is None:
                return  # not ours, or acknowledged twice
            self._advance_acks()
            self._wake_producers()
            self._finish_if_done()

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
        """Write the records (lock held); returns fds the caller must fsync (a checkpoint is due)."""
        size = _size(payloads)
        head = self._head
        if head is None or (head.size and head.size + size > self.segment_bytes):
            head = self._new_head()
        assert head.write_fd is not None
        seq = self._write_seq
        frames = [frame(seq + i, payload) for i, payload in enumerate(payloads)]
        start = head.size
        data = b"".join(frames)
        try:
            _write_all(head.write_fd, data)
        except OSError as exc:
            with contextlib.suppress(OSError):  # never leave half a batch behind
                os.ftruncate(head.write_fd, start)
            raise QueueWriteError(f"persisted queue {self.directory}: cannot write {len(events)} event(s): "
                                  f"{exc.strerror or exc}; free disk space or lower queue.max_bytes") from exc
        count = len(events)
        if not self._cache:
            self._cache_start = self._write_seq
        if self._cache_start + len(self._cache) == seq and len(self._cache) + count <= self.memory_events:
            end = start
            for event, record in zip(events, frames, strict=True):
                end += len(record)
                self._cache.append(_Cached(event, head, end))
        head.size += len(data)
        self._bytes += len(data)
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
                log.error("persisted queue %s: fsync failed: %s", self.directory, exc)
            finally:
                os.close(fd)

    def _new_head(self) -> _Segment:
        old = self._head
        if old is not None:
            if old.write_fd is not None:
                self._sync_fds.append(old.write_fd)  # sealed: fsync-ed with the next checkpoint
                old.write_fd = None
            self._unsynced = max(self._unsynced, 1)
        path = self.directory / f"{self._write_seq:020d}{_SUFFIX}"
        head = _Segment(self._write_seq, path, end_seq=self._write_seq)
        head.write_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
        self._segments.append(head)
        self._head = head
        self._dir_dirty = True
        return head

    # -- reading --------------------------------------------------------------------------------------
    def _take(self, size: int) -> tuple[list[Frame], list[Event]]:
        """Reserve up to ``size`` unread events (lock held): records from disk, then cached events."""
        frames: list[Frame] = []
        cached: list[Event] = []
        while len(frames) + len(cached) < size and self._read_seq < self._write_seq:
            wanted = size - len(frames) - len(cached)
            if self._cache and self._read_seq == self._cache_start:
                taking = min(wanted, len(self._cache))
                for _ in range(taking):
                    entry = self._cache.popleft()
                    cached.append(entry.event)
                self._cache_start += taking
                self._read_seq = self._cache_start
                self._read_segment, self._read_offset = entry.segment, entry.end
            else:
                limit = (self._cache_start if self._cache else self._write_seq) - self._read_seq
                got = self._read_disk(min(wanted, limit))
                frames.extend(got)
        return frames, cached

    def _read_disk(self, count: int) -> list[Frame]:
        segment = self._read_segment
        if segment is None or segment not in self._segments:
            segment = self._locate(self._read_seq)
        while self._read_offset >= segment.size:
            following = self._after(segment)
            if following is None:
                self._skip_to_readable(segment, "records missing from the segment files")
                return []
            segment = self._read_segment = following
            self._read_offset = 0
        frames, problem = read_frames(segment.reader(), self._read_offset, segment.size, count)
        taken = []
        for item in frames:
            self._read_offset = item.end
            if item.seq < self._read_seq:
                continue  # acknowledged before a restart, or re-read after a locate
            if item.seq > self._read_seq:
                self._count_lost(self._read_seq, item.seq, segment, "records missing")
            self._read_seq = item.seq + 1
            taken.append(item)
        if problem is not None:
            self._skip_to_readable(segment, problem.reason)
        return taken

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
        log.warning("persisted queue %s: %s in %s: events %d to %d (%d) skipped", self.directory, reason,
                    segment.path.name, first, end - 1, end - first)

    def _locate(self, seq: int) -> _Segment:
        candidates = [s for s in self._segments if s.first_seq <= seq] or self._segments[:1]
        segment = candidates[-1]
        self._read_segment, self._read_offset = segment, 0
        return segment

    def _after(self, segment: _Segment) -> _Segment | None:
        index = self._segments.index(segment)
        return self._segments[index + 1] if index + 1 < len(self._segments) else None

    def _decode(self, item: Frame) -> Event | None:
        try:
            return decode_event(item.payload)
        except (pickle.UnpicklingError, ValueError, EOFError, TypeError, AttributeError) as exc:
            with self._lock:
                self.corrupt_records += 1
            log.error("persisted queue %s: event %d cannot be decoded and is skipped: %s", self.directory,
                      item.seq, exc)
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
        self._read_segment = None
        self._unsynced = 0

    def _delete(self, segment: _Segment) -> None:
        self._bytes -= segment.size
        if self._read_segment is segment:
            self._read_segment = None
        segment.close()
        try:
            segment.path.unlink()
        except FileNotFoundError:
            pass
        self._dir_dirty = True

    def _write_checkpoint(self) -> None:
        path = self.directory / _CHECKPOINT
        temporary = path.with_name(_CHECKPOINT + ".tmp")
        try:
            temporary.write_bytes(orjson.dumps({"acked": self._acked_seq, "written": self._write_seq}))
            os.replace(temporary, path)
            self._checkpointed_seq = self._acked_seq
        except OSError as exc:  # only costs duplicates after a crash
            log.warning("persisted queue %s: cannot save the ack checkpoint: %s", self.directory, exc)

    # -- start and finish -----------------------------------------------------------------------------
    def _recover(self) -> None:
        """Find the segments and the ack position left by the previous run; cut a torn tail."""
        acked = self._read_checkpoint()
        for path in self.directory.glob(f"*{_SUFFIX}.tmp"):
            path.unlink()
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
                frames, problem = read_frames(fd, offset, segment.size, 4096)
                if frames:
                    offset, last_seq = frames[-1].end, frames[-1].seq
                if problem is not None or not frames:
                    break
        finally:
            os.close(fd)
        segment.end_seq = segment.first_seq if last_seq is None else last_seq + 1
        if problem is not None or offset != segment.size:
            log.warning("persisted queue %s: %s ends in a torn or corrupt record (%s, %d byte(s) at offset %d),"
                        " probably a crash while writing: removed; events before it are kept",
                        self.directory, segment.path.name, problem.reason if problem else "incomplete",
                        segment.size - offset, offset)
            self.corrupt_records += 1
            os.truncate(segment.path, offset)
            segment.size = offset

    def _read_checkpoint(self) -> int:
        path = self.directory / _CHECKPOINT
        try:
            return int(orjson.loads(path.read_bytes())["acked"])
        except FileNotFoundError:
            return 0
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("persisted queue %s: unreadable checkpoint (%s): every event on disk is delivered "
                        "again", self.directory, exc)
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
            self._sync(fds)

    def _wake_producers(self) -> None:
        self._not_full.notify_all()
        waiters, self._async_waiters = self._async_waiters, []
        for loop, fut in waiters:
            loop.call_soon_threadsafe(_resolve, fut)


def _size(payloads: list[bytes]) -> int:
    return sum(map(len, payloads)) + HEADER.size * len(payloads)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


__all__ = ["PersistedQueue", "QueueLockedError", "QueueWriteError", "queue_dir"]
