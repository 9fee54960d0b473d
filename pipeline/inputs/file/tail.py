"""One watched file: an open handle, the read position, the partial last line.

Two positions are kept apart on purpose: ``read_pos`` is how far we have read,
``committed`` is how far every line has been accepted by the pipeline's queue.
Only ``committed`` goes to the registry, so a restart re-reads what was read
but not delivered (at least once, never a gap).
"""

from __future__ import annotations

import collections
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import IO, Any, overload

from pipeline.inputs.file.registry import FINGERPRINT_BYTES, FileKey, fingerprint

log = logging.getLogger("pipeline.input.file")


@dataclass(slots=True)
class Line:
    data: bytes
    end: int  # file offset just after this line's delimiter
    truncated: bool = False


class Lines(Sequence[Line]):
    """The lines of one read as parallel lists (contents, end offsets, truncation marks): the plain
    codec's path reads the lists directly, so no Line object is built per line; indexing and iterating
    still give Lines for the other codecs."""

    __slots__ = ("data", "ends", "truncated")

    def __init__(self, data: list[bytes], ends: list[int], truncated: list[bool] | None = None) -> None:
        self.data = data
        self.ends = ends
        self.truncated = truncated  # None: no line was cut (the usual case)

    @classmethod
    def of(cls, lines: Iterable[Line]) -> Lines:
        lines = list(lines)
        marks = [line.truncated for line in lines]
        return cls([line.data for line in lines], [line.end for line in lines], marks if any(marks) else None)

    @property
    def any_truncated(self) -> bool:
        return self.truncated is not None and any(self.truncated)

    def mark_truncated(self, index: int) -> None:
        if self.truncated is None:
            self.truncated = [False] * len(self.data)
        self.truncated[index] = True

    def __len__(self) -> int:
        return len(self.data)

    @overload
    def __getitem__(self, index: int) -> Line: ...

    @overload
    def __getitem__(self, index: slice) -> Lines: ...

    def __getitem__(self, index: int | slice) -> Line | Lines:
        marks = self.truncated
        if isinstance(index, slice):
            return Lines(self.data[index], self.ends[index], None if marks is None else marks[index])
        return Line(self.data[index], self.ends[index], False if marks is None else marks[index])

    def __iter__(self) -> Iterator[Line]:
        marks = self.truncated or [False] * len(self.data)
        return map(Line, self.data, self.ends, marks)


def _ends(start: int, parts: Sequence[bytes], step: int) -> list[int]:
    """The end offset of each part (its delimiter included), summed in C."""
    ends = list(accumulate(map(step.__add__, map(len, parts)), initial=start))
    del ends[0]
    return ends


def split_lines(data: bytes, start: int, delimiter: bytes, limit: int) -> Lines:
    """The lines of ``data`` (complete lines joined by ``delimiter``, the last one's delimiter left out)
    whose first starts at file offset ``start``: a final CR removed when the delimiter is a newline, lines
    longer than ``limit`` cut and marked. The one splitting rule of the input and of the worker processes
    that split a :class:`LineBlock`."""
    parts = data.split(delimiter)
    step = len(delimiter)
    strip_cr = delimiter == b"\n"
    ends = _ends(start, parts, step)
    if (not strip_cr or b"\r" not in data) and max(map(len, parts)) <= limit:
        return Lines(parts, ends)  # the usual read: nothing to cut or strip, the parts as split (in C)
    marks = [len(raw) > limit for raw in parts]
    data_list = [raw[:limit] if cut else raw for raw, cut in zip(parts, marks, strict=True)]
    if strip_cr:
        data_list = [raw[:-1] if raw.endswith(b"\r") else raw for raw in data_list]
    return Lines(data_list, ends, marks if any(marks) else None)


@dataclass(frozen=True, slots=True)
class LineBlock:
    """Complete lines of one read, not split: worker processes split them (``split_lines``)."""

    data: bytes  # the lines joined by the delimiter, the last one's delimiter left out
    start: int  # file offset of the first line
    end: int  # file offset just after the last line's delimiter
    count: int  # lines in the block


class WatchedFile:
    """Reading state of one file (identified by device+inode)."""

    def __init__(self, path: str, key: FileKey, offset: int, delimiter: bytes, max_line_bytes: int) -> None:
        self.path = path
        self.key = key
        self.read_pos = offset
        self.committed = offset
        self.delimiter = delimiter
        self.max_line_bytes = max_line_bytes
        self.handle: IO[bytes] | None = None
        self.partial = bytearray()
        self.partial_truncated = False
        self.partial_since = 0.0
        self.size = 0
        self.mtime = 0.0
        self.last_growth = time.monotonic()
        self.detached = False  # renamed away or deleted: drain, then close
        self.opened_before = False
        self.fingerprint: str | None = None
        self.fingerprint_length = 0
        self.codec: Any = None  # set by the input: one codec instance per file (codecs keep state)
        # end offsets of lines handed to the codec whose events are not yet accepted
        self.fed_ends: collections.deque[int] = collections.deque()

    # -- handle ---------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.handle is not None

    def open(self) -> None:
        self.handle = open(self.path, "rb")  # kept open across reads, closed by close()
        stat = os.fstat(self.handle.fileno())
        if (stat.st_dev, stat.st_ino) != self.key:
            # The path now names another file; we must not read it under this identity.
            self.handle.close()
            self.handle = None
            raise FileNotFoundError(f"{self.path} was replaced before it could be opened")
        self.handle.seek(self.read_pos)
        self.opened_before = True
        self.refresh_fingerprint(stat.st_size)

    def refresh_fingerprint(self, size: int) -> None:
        """Fingerprint the file's head until it is FINGERPRINT_BYTES long (cheap afterwards: no-op)."""
        if self.handle is None or self.fingerprint_length >= min(size, FINGERPRINT_BYTES):
            return
        try:
            self.fingerprint = fingerprint(self.handle, size)
        except OSError:
            return
        self.fingerprint_length = int(self.fingerprint.split(":")[0]) if self.fingerprint else 0

    def close(self) -> None:
        if self.handle is not None:
            try:
                self.handle.close()
            finally:
                self.handle = None

    def stat(self) -> os.stat_result | None:
        """Stat through the open handle (follows the file after a rename), else the path."""
        try:
            if self.handle is not None:
                return os.fstat(self.handle.fileno())
            stat = os.stat(self.path)
            return stat if (stat.st_dev, stat.st_ino) == self.key else None
        except OSError:
            return None

    def restart_from(self, offset: int) -> None:
        """Start again at ``offset`` (truncation): forget the partial line and pending lines."""
        self.read_pos = self.committed = offset
        self.fingerprint, self.fingerprint_length = None, 0  # truncated: the head will be new
        self.partial.clear()
        self.partial_truncated = False
        self.fed_ends.clear()
        if self.handle is not None:
            self.handle.seek(offset)

    def rewind_to_committed(self) -> None:
        """Forget what was read but not delivered, so the next run reads it again (input restart)."""
        self.close()
        self.read_pos = self.committed
        self.partial.clear()
        self.partial_truncated = False
        self.partial_since = 0.0
        self.fed_ends.clear()
        self.opened_before = False

    # -- reading --------------------------------------------------------------
    def read_lines(self, chunk_size: int) -> Lines:
        """Read one chunk and return the complete lines in it (delimiters and a final CR removed)."""
        got = self._read_complete(chunk_size)
        if got is None:
            return Lines([], [])
        return self._split(*got)

    def _split(self, data: bytes | None, start: int, had_truncated: bool) -> Lines:
        """The lines of what :meth:`_read_complete` gave, split here (None: no complete line yet)."""
        lines = split_lines(data, start, self.delimiter, self.max_line_bytes) if data is not None else Lines([], [])
        if had_truncated and lines:
            # the first line completed the oversized partial: it keeps the mark
            lines.mark_truncated(0)
            self.partial_truncated = False
        self._bound_partial()
        return lines

    def read_block(self, chunk_size: int, max_lines: int) -> LineBlock | Lines:
        """Read one chunk and return its complete lines as one :class:`LineBlock`, split by nobody (a
        worker process splits it): no per-line work here. Falls back to :meth:`read_lines`' split when a
        line may need cutting (a truncated partial, a block longer than ``max_line_bytes``) or the block
        holds more than ``max_lines`` lines (a push must stay within the queue's limit)."""
        got = self._read_complete(chunk_size)
        if got is None:
            return Lines([], [])
        data, start, had_truncated = got
        if data is None or had_truncated or len(data) > self.max_line_bytes:
            return self._split(data, start, had_truncated)
        count = data.count(self.delimiter) + 1
        if count > max_lines:
            return self._split(data, start, had_truncated)
        self._bound_partial()
        return LineBlock(data, start, start + len(data) + len(self.delimiter), count)

    def _read_complete(self, chunk_size: int) -> tuple[bytes | None, int, bool] | None:
        """Read one chunk: (its complete lines joined by the delimiter, the last delimiter left out, or
        None when no line is complete yet; the offset of the first; whether the partial line they
        continue was cut), keeping the rest as the partial line. None when nothing was read."""
        assert self.handle is not None
        chunk = self.handle.read(chunk_size)
        if not chunk:
            return None
        start = self.read_pos - len(self.partial)
        self.read_pos += len(chunk)
        self.last_growth = time.monotonic()
        buffer = bytes(self.partial) + chunk if self.partial else chunk
        had_truncated = self.partial_truncated
        delimiter = self.delimiter
        if len(delimiter) == 1:
            cut = buffer.rfind(delimiter)
        else:  # where split, from the left, puts its last delimiter ("|||" by "||": "", "|"), not rfind
            parts = buffer.split(delimiter)
            cut = len(buffer) - len(parts[-1]) - len(delimiter) if len(parts) > 1 else -1
        if cut < 0:
            self.partial = bytearray(buffer)
            return None, start, had_truncated
        self.partial = bytearray(buffer[cut + len(self.delimiter):])
        return buffer[:cut], start, had_truncated

    def _bound_partial(self) -> None:
        if len(self.partial) > self.max_line_bytes:
            # Keep memory bounded: hold the first max_line_bytes, skip the rest until the delimiter.
            self._hold_truncated()
        if self.partial and not self.partial_since:
            self.partial_since = time.monotonic()
        elif not self.partial:
            self.partial_since = 0.0

    def _hold_truncated(self) -> None:
        # The partial's bytes past the limit are dropped; positions stay exact because
        # read_pos counts what was read, and the line's end is known when its delimiter comes.
        del self.partial[self.max_line_bytes:]
        self.partial_truncated = True

    def take_partial(self) -> Line | None:
        """The unterminated last line as a line (end of file, or it waited too long)."""
        if not self.partial:
            return None
        raw = bytes(self.partial)
        if self.delimiter == b"\n" and raw.endswith(b"\r"):
            raw = raw[:-1]
        line = Line(raw, self.read_pos, self.partial_truncated)
        self.partial.clear()
        self.partial_truncated = False
        self.partial_since = 0.0
        return line
