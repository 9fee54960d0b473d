"""JSON encoding of events (orjson, with Timestamps as ISO8601 strings).

Outputs call :func:`event_json` so ``@metadata`` is never emitted.
"""

from __future__ import annotations

from typing import Any

import orjson

from pipeline.event import METADATA, Event, json_default

_OPTS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any, *, pretty: bool = False) -> bytes:
    opts = _OPTS | (orjson.OPT_INDENT_2 if pretty else 0)
    return orjson.dumps(value, default=json_default, option=opts)


def dumps_str(value: Any, *, pretty: bool = False) -> str:
    return dumps(value, pretty=pretty).decode()


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    return orjson.loads(data)


def compact_json(value: Any) -> bytes:
    """``value`` as compact JSON bytes (Timestamps as ISO strings, through the ``default`` hook).

    Without OPT_NON_STR_KEYS orjson encodes twice as fast; a value with keys that are not strings (rare) is
    encoded again with it."""
    try:
        return orjson.dumps(value, default=json_default)
    except orjson.JSONEncodeError:
        return orjson.dumps(value, default=json_default, option=_OPTS)


def event_json(event: Event, *, metadata: bool = False) -> bytes:
    """The event as compact JSON bytes, ``@metadata`` left out unless asked for.

    Only an event with @metadata is copied (to leave it out); Timestamps go through the ``default`` hook,
    which costs less than a copy with @timestamp as text (bench/RESULTS.md, "File JSON path, third pass")."""
    data = event.data
    if not metadata and METADATA in data:
        data = data.copy()  # the event keeps its @metadata
        del data[METADATA]
    return compact_json(data)


def events_json_lines(events: list[Event], delimiter: bytes = b"\n") -> bytes:
    """Several events as JSON documents, each followed by ``delimiter``, in one bytes object.

    event_json's rule inline (a call less per event): only an event with @metadata (the file input's
    stable id: most events) is copied, to leave it out. Same bytes as event_json."""
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
