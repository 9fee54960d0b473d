"""JSON encoding of events (orjson, with Timestamps as ISO8601 strings).

Outputs call :func:`event_json` so ``@metadata`` is never emitted.
"""

from __future__ import annotations

from typing import Any

import orjson

from pipeline.event import METADATA, TIMESTAMP, Event, json_default
from pipeline.timestamp import Timestamp

_OPTS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any, *, pretty: bool = False) -> bytes:
    opts = _OPTS | (orjson.OPT_INDENT_2 if pretty else 0)
    return orjson.dumps(value, default=json_default, option=opts)


def dumps_str(value: Any, *, pretty: bool = False) -> str:
    return dumps(value, pretty=pretty).decode()


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    return orjson.loads(data)


def event_json(event: Event, *, metadata: bool = False) -> bytes:
    """The event as compact JSON bytes, ``@metadata`` left out unless asked for."""
    data = event.data
    strip = not metadata and METADATA in data
    stamp = data.get(TIMESTAMP)
    if strip or type(stamp) is Timestamp:
        # A shallow copy (order kept) without @metadata and with @timestamp as its cached ISO string:
        # orjson then never calls back into Python for the usual event.
        data = data.copy()
        if strip:
            del data[METADATA]
        if type(stamp) is Timestamp:
            data[TIMESTAMP] = stamp.iso()
    try:
        # Without OPT_NON_STR_KEYS orjson encodes twice as fast; keys that are not strings are rare.
        return orjson.dumps(data, default=json_default)
    except orjson.JSONEncodeError:
        return orjson.dumps(data, default=json_default, option=_OPTS)


def events_json_lines(events: list[Event], delimiter: bytes = b"\n") -> bytes:
    """Several events as JSON documents, each followed by ``delimiter``, in one bytes object.

    Inline rather than through event_json (a call less per event), and the event's Timestamps go
    through orjson's ``default`` hook instead of into a copy as text: only an event with @metadata
    (the file input's stable id: most events) is copied, to leave it out. Same bytes as event_json."""
    docs: list[bytes] = []
    append = docs.append
    dumps = orjson.dumps
    for event in events:
        data = event.data
        if METADATA in data:
            data = data.copy()  # the event keeps its @metadata
            del data[METADATA]
        try:
            append(dumps(data, default=json_default))
        except orjson.JSONEncodeError:
            append(event_json(event))  # keys that are not strings: event_json's slower options (or its error)
    if not docs:
        return b""
    docs.append(b"")  # the last delimiter, without copying the joined batch once more
    return delimiter.join(docs)


JSONDecodeError = orjson.JSONDecodeError
