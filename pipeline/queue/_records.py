"""On-disk records of the persisted queue: event serialisation and CRC-checked framing.

A record is a 16-byte header followed by the payload::

    seq      u64  little-endian sequence number, global to the queue directory
    length   u32  payload length
    crc32    u32  CRC32 of seq + length + payload (a torn or rotten record never passes)

The payload is the event's dict pickled (protocol 5), ``@timestamp`` and every
other :class:`~pipeline.timestamp.Timestamp` kept as such, ``@metadata`` kept.
Pickle is read back with an allow-list unpickler, so a queue file can never
make the pipeline import or call anything but plain value constructors.
Values of other types (a ``datetime`` a filter left behind, a ``Decimal``...)
are stored as their closest plain type or as text, with a warning per type.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.event import Event
from pipeline.timestamp import Timestamp

log = logging.getLogger("pipeline.queue.persisted")

HEADER = struct.Struct("<QII")
READ_CHUNK = 256 * 1024
_PROTOCOL = 5

Reducer = Callable[[Any], tuple[Any, tuple[Any, ...]]]
_PLAIN_BASES: tuple[type, ...] = (int, float, str, bytes, list, tuple, dict, set, frozenset)
_warned_types: set[type] = set()


def _reduce_timestamp(value: Timestamp) -> tuple[Any, tuple[Any, ...]]:
    return Timestamp, (value.millis,)


def _reducer_for(cls: type) -> Reducer:
    """How to store an instance of a type pickle has no fast path for."""
    if issubclass(cls, bool):
        return lambda value: (bool, (bool(value),))
    for base in _PLAIN_BASES:  # ByteSize/Duration (int subclasses), OrderedDict, defaultdict ...
        if issubclass(cls, base):
            return lambda value, base=base: (base, (base(value),))
    if cls not in _warned_types:
        _warned_types.add(cls)
        log.warning("persisted queue: event values of type %s.%s are stored as text", cls.__module__,
                    cls.__qualname__)
    return lambda value: (str, (str(value),))


class _Reducers(dict[type, Reducer]):
    """Pickler dispatch table: Timestamps compact, anything unusual turned into a plain value.

    pickle consults the table only for types without a built-in fast path, so
    dicts, lists, strings and numbers cost nothing extra.
    """

    def __missing__(self, cls: type) -> Reducer:
        reducer = self[cls] = _reducer_for(cls)
        return reducer


_REDUCERS = _Reducers({Timestamp: _reduce_timestamp})


class _Pickler(pickle.Pickler):
    dispatch_table = _REDUCERS


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("pipeline.timestamp", "Timestamp"): Timestamp,
    **{("builtins", t.__name__): t for t in (*_PLAIN_BASES, bool, bytearray)},
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"persisted queue record refers to {module}.{name}, "
                                         "which a queue record may not contain") from None


def encode_events(events: list[Event]) -> list[bytes]:
    """One payload per event (pickled with one pickler, memo cleared between events)."""
    buffer = io.BytesIO()
    pickler = _Pickler(buffer, _PROTOCOL)
    bounds = [0]
    for event in events:
        pickler.clear_memo()
        pickler.dump(event.data)
        bounds.append(buffer.tell())
    view = buffer.getbuffer()
    try:
        return [bytes(view[start:end]) for start, end in zip(bounds, bounds[1:], strict=False)]
    finally:
        view.release()


def decode_event(payload: bytes) -> Event:
    """The event a payload holds; raises ``pickle.UnpicklingError``/``ValueError`` if it is not one."""
    data = _Unpickler(io.BytesIO(payload)).load()
    if not isinstance(data, dict):
        raise ValueError(f"persisted queue record holds a {type(data).__name__}, not an event")
    return Event(data)


def frame(seq: int, payload: bytes) -> bytes:
    head = struct.pack("<QI", seq, len(payload))
    return head + struct.pack("<I", zlib.crc32(payload, zlib.crc32(head))) + payload


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int
    payload: bytes
    start: int  # offset of the header in its segment
    end: int  # offset just after the payload


class CorruptRecord(Exception):
    """A record whose header or checksum is wrong (torn write, disk corruption)."""

    def __init__(self, offset: int, reason: str) -> None:
        self.offset = offset
        self.reason = reason
        super().__init__(f"corrupt record at byte {offset}: {reason}")


def read_frames(fd: int, offset: int, end: int, max_count: int) -> tuple[list[Frame], CorruptRecord | None]:
    """Up to ``max_count`` valid records from ``offset`` (before ``end``); stops at the first bad one.

    Returns the good frames and, if reading stopped at a bad record, why.
    """
    frames: list[Frame] = []
    while len(frames) < max_count and offset < end:
        buf = os.pread(fd, min(READ_CHUNK, end - offset), offset)
        pos = 0
        while len(frames) < max_count:
            if offset + pos >= end:
                break
            if len(buf) - pos < HEADER.size:
                if offset + pos + HEADER.size > end:
                    return frames, CorruptRecord(offset + pos, "truncated header")
                break  # header continues in the next chunk
            seq, length, crc = HEADER.unpack_from(buf, pos)
            total = HEADER.size + length
            if offset + pos + total > end:
                return frames, CorruptRecord(offset + pos, f"record length {length} runs past the end")
            if pos + total > len(buf):
                if pos:
                    break  # record continues in the next chunk
                buf = os.pread(fd, total, offset)  # one record bigger than a chunk
            payload = bytes(buf[pos + HEADER.size:pos + total])
            if zlib.crc32(payload, zlib.crc32(buf[pos:pos + 12])) != crc:
                return frames, CorruptRecord(offset + pos, "checksum mismatch")
            frames.append(Frame(seq, payload, offset + pos, offset + pos + total))
            pos += total
        if pos == 0:
            return frames, CorruptRecord(offset, "the file ends before the recorded size")
        offset += pos
    return frames, None
