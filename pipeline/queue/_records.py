"""On-disk records of the persisted queue: event serialisation and CRC-checked framing.

A record holds up to ``RECORD_EVENTS`` events of one ``put`` (an input's
window): a 20-byte header followed by the payload::

    seq      u64  sequence number of the first event, global to the queue directory
    count    u32  events in the record (they have seq, seq + 1, ...)
    length   u32  payload length
    crc32    u32  CRC32 of the rest of the header + payload (a torn or rotten record never passes)

The payload is the list of the events' dicts pickled (protocol 5) in one go,
so keys and values the events share are stored once; ``@timestamp`` and every
other :class:`~pipeline.timestamp.Timestamp` kept as such, ``@metadata`` kept.
Pickle is read back with an allow-list unpickler, so a queue file can never
make the pipeline import or call anything but plain value constructors.
Values of other types (a ``datetime`` a filter left behind, a ``Decimal``...)
are stored as their closest plain type or as text, with a warning per type.
"""

from __future__ import annotations

import functools
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
from pipeline.logs import RateLimitedLogger
from pipeline.timestamp import Timestamp

log = logging.getLogger("pipeline.queue.persisted")
_limited = RateLimitedLogger(log)

_HEAD = struct.Struct("<QII")  # first seq, event count, payload length
_CRC = struct.Struct("<I")
HEADER = struct.Struct("<QIII")
READ_CHUNK = 256 * 1024
RECORD_EVENTS = 128  # events per record at most: a bigger put is written as several records
_PROTOCOL = 5

Reducer = Callable[[Any], tuple[Any, tuple[Any, ...]]]
_PLAIN_BASES: tuple[type, ...] = (int, float, str, bytes, list, tuple, dict, set, frozenset)
_warned_types: set[type] = set()


def _reduce_timestamp(value: Timestamp) -> tuple[Any, tuple[Any, ...]]:
    return Timestamp, (value.millis,)


def _reducer_for(cls: type) -> Reducer:
    """How to store an instance of a type pickle has no fast path for."""
    for base in _PLAIN_BASES:  # ByteSize/Duration (int subclasses), OrderedDict, defaultdict ...
        if issubclass(cls, base):
            return functools.partial(_as_plain, base)
    if cls not in _warned_types:
        _warned_types.add(cls)
        log.warning("persisted queue: event values of type %s.%s are stored as text", cls.__module__,
                    cls.__qualname__)
    return functools.partial(_as_plain, str)


def _as_plain(base: type, value: Any) -> tuple[Any, tuple[Any, ...]]:
    return base, (_text(value) if base is str else base(value),)


def _text(value: Any) -> str:
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - any value's __str__ may fail; keep what can be kept
        return f"<unprintable {type(value).__name__}>"


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


SERIALISATION_FAILURE_TAG = "_queue_serialization_failure"
_ENCODE_ERRORS = (pickle.PicklingError, RecursionError, TypeError, ValueError, AttributeError)


def _pickle(value: Any) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, _PROTOCOL).dump(value)
    return buffer.getvalue()


def encode_events(events: list[Event]) -> tuple[list[bytes], list[Event]]:
    """Payloads for a put: the events' dicts pickled together, ``RECORD_EVENTS`` per record.

    Pickling events together stores the keys and values they share once; records
    no bigger than a batch keep reading back cheap. Returns the payloads and the
    events they hold: the given ones, or, if one of them cannot be stored at all
    (a structure nested too deep...), that one replaced by a tagged event carrying
    its text, so it is seen downstream instead of lost.
    """
    try:
        return [_pickle([e.data for e in events[i:i + RECORD_EVENTS]])
                for i in range(0, len(events), RECORD_EVENTS)], events
    except _ENCODE_ERRORS:
        pass
    stored = []
    for event in events:
        try:
            _pickle(event.data)
            stored.append(event)
        except _ENCODE_ERRORS as exc:
            _limited.error("encode", "persisted queue: an event cannot be stored (%s: %s); it goes on as "
                           "text, tagged %s", type(exc).__name__, exc, SERIALISATION_FAILURE_TAG)
            stored.append(_stand_in(event, exc))
    return encode_events(stored)


def _stand_in(event: Event, error: Exception) -> Event:
    try:
        text = repr(event.data)
    except Exception:  # noqa: BLE001 - repr of arbitrary values; the tag still says what happened
        text = "<unprintable event>"
    return Event({"@timestamp": event.timestamp, "message": text, "tags": [SERIALISATION_FAILURE_TAG],
                  "error": {"message": f"{type(error).__name__}: {error}"}})


def decode_events(payload: bytes, count: int) -> list[Event]:
    """The events a payload holds; ``pickle.UnpicklingError``/``ValueError`` if it does not hold them."""
    items = _Unpickler(io.BytesIO(payload)).load()
    if not isinstance(items, list) or len(items) != count or not all(type(item) is dict for item in items):
        raise ValueError(f"persisted queue record does not hold the {count} event(s) its header announces")
    return [Event(item) for item in items]


def frame(seq: int, count: int, payload: bytes) -> bytes:
    head = _HEAD.pack(seq, count, len(payload))
    return head + _CRC.pack(zlib.crc32(payload, zlib.crc32(head))) + payload


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int  # seq of the first event
    count: int  # events in the record
    payload: bytes
    start: int  # offset of the header in its segment
    end: int  # offset just after the payload

    @property
    def end_seq(self) -> int:
        return self.seq + self.count


class CorruptRecord(Exception):
    """A record whose header or checksum is wrong (torn write, disk corruption)."""

    def __init__(self, offset: int, reason: str) -> None:
        self.offset = offset
        self.reason = reason
        super().__init__(f"corrupt record at byte {offset}: {reason}")


def read_frames(fd: int, offset: int, end: int, max_events: int) -> tuple[list[Frame], CorruptRecord | None]:
    """Valid records from ``offset`` (before ``end``) until they hold ``max_events``; stops at a bad one.

    Returns the good frames and, if reading stopped at a bad record, why.
    """
    frames: list[Frame] = []
    events = 0
    while events < max_events and offset < end:
        buf = os.pread(fd, min(READ_CHUNK, end - offset), offset)
        pos = 0
        while events < max_events and offset + pos < end:
            if len(buf) - pos < HEADER.size:
                if offset + pos + HEADER.size > end:
                    return frames, CorruptRecord(offset + pos, "truncated header")
                break  # header continues in the next chunk
            seq, count, length, crc = HEADER.unpack_from(buf, pos)
            total = HEADER.size + length
            if offset + pos + total > end:
                return frames, CorruptRecord(offset + pos, f"record length {length} runs past the end")
            if pos + total > len(buf):
                if pos:
                    break  # record continues in the next chunk
                buf = os.pread(fd, total, offset)  # one record bigger than a chunk
            payload = bytes(buf[pos + HEADER.size:pos + total])
            if zlib.crc32(payload, zlib.crc32(buf[pos:pos + _HEAD.size])) != crc:
                return frames, CorruptRecord(offset + pos, "checksum mismatch")
            frames.append(Frame(seq, count, payload, offset + pos, offset + pos + total))
            events += count
            pos += total
        if pos == 0:
            return frames, CorruptRecord(offset, "the file ends before the recorded size")
        offset += pos
    return frames, None
