"""The dead letter queue: events an output could not deliver, kept on disk for fixing and replay.

Layout, under ``<path.data>/dead_letter_queue/<pipeline_id>/``::

    .lock            held (flock) by the one process writing this queue
    1.log            sealed segments, read by the ``dead_letter_queue`` input
    2.log
    3.log.tmp        the segment being written; sealed (renamed) when full,
                     when idle for ``flush_interval``, or at close

A segment is NDJSON, one entry a line::

    {"time": "...", "pipeline_id": "main", "plugin_type": "elasticsearch",
     "plugin_id": "es1", "reason": "...", "event": {...the event, @metadata included...}}

Lines are written whole and flushed; a torn last line (crash mid-write) is
skipped by the reader and reported, never fatal. ``max_bytes`` bounds the
whole queue: with ``storage_policy="drop_newer"`` (Logstash's default) new
entries are refused and counted, with ``"drop_older"`` the oldest sealed
segments go. ``retain_age`` deletes sealed segments whose newest entry is older.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson

from pipeline.errors import PluginError
from pipeline.event import Event, json_default
from pipeline.timestamp import Timestamp

log = logging.getLogger("pipeline.dead_letter_queue")

DEFAULT_MAX_BYTES = 1024 * 1024 * 1024
DEFAULT_SEGMENT_BYTES = 10 * 1024 * 1024
_SEGMENT_RE = re.compile(r"^(\d+)\.log$")
_TMP_RE = re.compile(r"^(\d+)\.log\.tmp$")


def queue_dir(path_data: Path | str, pipeline_id: str) -> Path:
    """Where the DLQ of a pipeline lives."""
    return Path(path_data) / "dead_letter_queue" / pipeline_id


@dataclass
class DeadLetterStats:
    written: int = 0
    dropped_full: int = 0
    expired_segments: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class DeadLetterEntry:
    """One dead-lettered event and why."""

    event: dict[str, Any]
    reason: str
    plugin_type: str
    plugin_id: str
    time: str
    pipeline_id: str = "main"

    def to_event(self) -> Event:
        """The original event, with the DLQ facts under ``[@metadata][dead_letter_queue]`` (as Logstash)."""
        event = Event(orjson.loads(orjson.dumps(self.event)))
        event.metadata["dead_letter_queue"] = {
            "reason": self.reason, "plugin_type": self.plugin_type,
            "plugin_id": self.plugin_id, "entry_time": self.time,
        }
        return event

    @property
    def millis(self) -> int:
        return Timestamp.parse(self.time).millis


@dataclass(frozen=True, order=True)
class Position:
    """Where a reader is: segment number and byte offset inside it."""

    segment: int = 0
    offset: int = 0


class DeadLetterWriter:
    """Appends entries to segment files; thread-safe; one per queue directory and process."""

    def __init__(self, directory: Path | str, *, pipeline_id: str = "main", max_bytes: int = DEFAULT_MAX_BYTES,
                 max_segment_bytes: int = DEFAULT_SEGMENT_BYTES, retain_age: float | None = None,
                 storage_policy: Literal["drop_newer", "drop_older"] = "drop_newer",
                 flush_interval: float = 5.0) -> None:
        if storage_policy not in ("drop_newer", "drop_older"):
            raise ValueError(f"storage_policy must be drop_newer or drop_older, got {storage_policy!r}")
        self.directory = Path(directory)
        self.pipeline_id = pipeline_id
        self.max_bytes = int(max_bytes)
        self.max_segment_bytes = int(max_segment_bytes)
        self.retain_age = retain_age
        self.storage_policy = storage_policy
        self.flush_interval = flush_interval
        self.stats = DeadLetterStats()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.directory / ".lock", "a+")
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock_file.close()
            raise PluginError(f"dead letter queue {self.directory} is in use by another process "
                              "(each pipeline needs its own path.data or pipeline id)") from exc
        self._seal_leftovers()
        self._current: Any = None
        self._current_path: Path | None = None
        self._current_size = 0
        self._last_write = 0.0
        self._next_segment = max(self._segment_numbers(), default=0) + 1
        self.stats.bytes = self._total_bytes()
        self._sealer = threading.Thread(target=self._seal_when_idle, name="dlq-sealer", daemon=True)
        self._sealer.start()

    # -- public API -------------------------------------------------------------
    def write(self, event: Event | dict[str, Any], reason: str, *, plugin_type: str, plugin_id: str) -> bool:
        """Append one entry; False when refused because the queue is full (drop_newer)."""
        data = event.data if isinstance(event, Event) else event
        record = orjson.dumps({
            "time": _now_iso(), "pipeline_id": self.pipeline_id, "plugin_type": plugin_type,
            "plugin_id": plugin_id, "reason": reason, "event": data,
        }, default=json_default, option=orjson.OPT_NON_STR_KEYS) + b"\n"
        with self._lock:
            if self._closed.is_set():
                raise PluginError("dead letter queue is closed")
            self._expire_old()
            if self.stats.bytes + len(record) > self.max_bytes:
                # A reader with clean_consumed may have deleted segments meanwhile: count again.
                self.stats.bytes = self._total_bytes()
            if self.stats.bytes + len(record) > self.max_bytes and not self._make_room(len(record)):
                self.stats.dropped_full += 1
                log.error("dead letter queue %s is full (%d bytes, max %d): entry dropped; reason was: %s",
                          self.directory, self.stats.bytes, self.max_bytes, reason)
                return False
            if self._current is not None and self._current_size + len(record) > self.max_segment_bytes:
                self._seal()
            if self._current is None:
                self._open_segment()
            self._current.write(record)
            self._current.flush()
            self._current_size += len(record)
            self.stats.bytes += len(record)
            self.stats.written += 1
            self._last_write = time.monotonic()
        return True

    def flush(self) -> None:
        """Seal the current segment so readers see every entry written so far."""
        with self._lock:
            self._seal()

    def close(self) -> None:
        with self._lock:
            self._seal()
            self._closed.set()
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
        finally:
            self._lock_file.close()

    # -- segments ---------------------------------------------------------------
    def _segment_numbers(self) -> list[int]:
        numbers = []
        for path in self.directory.iterdir():
            match = _SEGMENT_RE.match(path.name) or _TMP_RE.match(path.name)
            if match:
                numbers.append(int(match.group(1)))
        return numbers

    def _sealed(self) -> list[Path]:
        return sorted((p for p in self.directory.iterdir() if _SEGMENT_RE.match(p.name)),
                      key=lambda p: int(p.name.split(".")[0]))

    def _total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.directory.iterdir()
                   if _SEGMENT_RE.match(p.name) or _TMP_RE.match(p.name))

    def _seal_leftovers(self) -> None:
        # A .tmp left by a crash holds complete entries (plus maybe a torn line the reader skips).
        for path in self.directory.iterdir():
            match = _TMP_RE.match(path.name)
            if match:
                if path.stat().st_size == 0:
                    path.unlink()
                else:
                    path.rename(self.directory / f"{match.group(1)}.log")

    def _open_segment(self) -> None:
        self._current_path = self.directory / f"{self._next_segment}.log.tmp"
        self._next_segment += 1
        self._current = open(self._current_path, "ab")
        self._current_size = 0

    def _seal(self) -> None:
        if self._current is None:
            return
        self._current.flush()
        os.fsync(self._current.fileno())
        self._current.close()
        assert self._current_path is not None
        if self._current_size:
            self._current_path.rename(self._current_path.with_name(self._current_path.name[:-len(".tmp")]))
        else:
            self._current_path.unlink()
        self._current = None
        self._current_path = None
        self._current_size = 0

    def _make_room(self, needed: int) -> bool:
        if self.storage_policy == "drop_newer":
            return False
        for path in self._sealed():
            if self.stats.bytes + needed <= self.max_bytes:
                break
            size = path.stat().st_size
            path.unlink()
            self.stats.bytes -= size
            log.warning("dead letter queue %s full: deleted oldest segment %s (drop_older)", self.directory,
                        path.name)
        return self.stats.bytes + needed <= self.max_bytes

    def _expire_old(self) -> None:
        if not self.retain_age:
            return
        cutoff = time.time() - self.retain_age
        for path in self._sealed():
            stat = path.stat()
            if stat.st_mtime >= cutoff:
                break
            path.unlink()
            self.stats.bytes -= stat.st_size
            self.stats.expired_segments += 1
            log.info("dead letter queue %s: segment %s older than retain.age deleted", self.directory, path.name)

    def _seal_when_idle(self) -> None:
        while not self._closed.wait(min(1.0, self.flush_interval)):
            with self._lock:
                if self._closed.is_set():
                    return
                if self._current is not None and time.monotonic() - self._last_write >= self.flush_interval:
                    self._seal()
                self._expire_old()


class DeadLetterReader:
    """Reads sealed segments in order from a position; entries written after ``start`` only."""

    def __init__(self, directory: Path | str, *, start_timestamp: Timestamp | None = None) -> None:
        self.directory = Path(directory)
        self.start_millis = start_timestamp.millis if start_timestamp else None
        self.corrupt_lines = 0

    def segments(self) -> list[int]:
        if not self.directory.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.directory.iterdir() if (m := _SEGMENT_RE.match(p.name)))

    def read(self, position: Position = Position()) -> Iterator[tuple[DeadLetterEntry, Position]]:
        """Entries after ``position``, each with the position just after it."""
        for number in self.segments():
            if number < position.segment:
                continue
            offset = position.offset if number == position.segment else 0
            path = self.directory / f"{number}.log"
            try:
                handle = open(path, "rb")
            except FileNotFoundError:  # expired or cleaned meanwhile
                continue
            with handle:
                handle.seek(offset)
                for line in handle:
                    offset += len(line)
                    entry = self._decode(line, path)
                    if entry is None:
                        continue
                    if self.start_millis is not None and entry.millis < self.start_millis:
                        continue
                    yield entry, Position(number, offset)

    def end_of_segment(self, segment: int) -> int:
        path = self.directory / f"{segment}.log"
        return path.stat().st_size if path.exists() else 0

    def _decode(self, line: bytes, path: Path) -> DeadLetterEntry | None:
        if not line.endswith(b"\n"):
            self.corrupt_lines += 1
            log.warning("dead letter queue %s: torn last entry skipped (crash while writing?)", path)
            return None
        try:
            raw = orjson.loads(line)
            return DeadLetterEntry(event=raw["event"], reason=raw["reason"], plugin_type=raw["plugin_type"],
                                   plugin_id=raw["plugin_id"], time=raw["time"],
                                   pipeline_id=raw.get("pipeline_id", "main"))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self.corrupt_lines += 1
            log.warning("dead letter queue %s: unreadable entry skipped", path)
            return None


# -- one writer per queue directory in this process ------------------------------
_WRITERS: dict[Path, DeadLetterWriter] = {}
_REFS: dict[Path, int] = {}
_WRITERS_LOCK = threading.Lock()


@dataclass(frozen=True)
class DeadLetterSettings:
    """The ``dead_letter_queue.*`` pipeline settings (names as in logstash.yml)."""

    enable: bool = True
    max_bytes: int = DEFAULT_MAX_BYTES
    storage_policy: Literal["drop_newer", "drop_older"] = "drop_newer"
    retain_age: float | None = None
    flush_interval: float = 5.0
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any) -> DeadLetterSettings:
        from pipeline.plugin import ByteSize, Duration

        def get(key: str, default: Any) -> Any:
            return settings.get(f"dead_letter_queue.{key}", default) if settings else default

        retain = get("retain.age", None)
        path = get("path", None) or (settings.get("path.dead_letter_queue") if settings else None)
        return cls(
            enable=str(get("enable", True)).lower() not in ("false", "0", "no"),
            max_bytes=ByteSize.parse(get("max_bytes", DEFAULT_MAX_BYTES)),
            storage_policy=get("storage_policy", "drop_newer"),
            retain_age=Duration.parse(retain) if retain else None,
            flush_interval=Duration.parse(get("flush_interval", "5s")),
            path=Path(path) if path else None,
        )


def writer_for(path_data: Path | str, pipeline_id: str, settings: Any = None) -> DeadLetterWriter | None:
    """The shared writer of a pipeline's DLQ, or None when ``dead_letter_queue.enable`` is false."""
    config = DeadLetterSettings.from_settings(settings)
    if not config.enable:
        return None
    directory = (config.path / pipeline_id) if config.path else queue_dir(path_data, pipeline_id)
    key = directory.resolve()
    with _WRITERS_LOCK:
        writer = _WRITERS.get(key)
        if writer is None or writer._closed.is_set():
            writer = _WRITERS[key] = DeadLetterWriter(
                directory, pipeline_id=pipeline_id, max_bytes=config.max_bytes,
                storage_policy=config.storage_policy, retain_age=config.retain_age,
                flush_interval=config.flush_interval)
            _REFS[key] = 0
        _REFS[key] += 1
        return writer


def release_writer(writer: DeadLetterWriter) -> None:
    """Give back a writer from :func:`writer_for`; the last user closes it (at pipeline stop)."""
    with _WRITERS_LOCK:
        for key, value in list(_WRITERS.items()):
            if value is writer:
                _REFS[key] -= 1
                if _REFS[key] > 0:
                    return
                del _WRITERS[key], _REFS[key]
    if not writer._closed.is_set():
        writer.close()


def _now_iso() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
