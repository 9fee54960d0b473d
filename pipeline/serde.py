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


def event_json(event: Event, *, metadata: bool = False) -> bytes:
    """The event as compact JSON bytes, ``@metadata`` left out unless asked for."""
    data = event.data
    if not metadata and METADATA in data:
        data = {k: v for k, v in data.items() if k != METADATA}
    return orjson.dumps(data, default=json_default, option=_OPTS)


JSONDecodeError = orjson.JSONDecodeError
