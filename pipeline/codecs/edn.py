"""edn codec: each chunk of data is one EDN map (Clojure's extensible data notation) → one event.

Reading and writing EDN is edn_format's job (PyPI, pure Python). What it returns is turned
into event values as Logstash's Ruby codec does: keywords and symbols become their names,
lists and sets become arrays, ``#inst`` a timestamp, ``#uuid`` its text, ``1.5M`` a float.
A chunk that is not an EDN map is kept as text in ``message`` (Logstash's fallback) and, so
that it is not lost silently, tagged ``_ednparsefailure``.
"""

from __future__ import annotations

import datetime
import decimal
import logging
from collections.abc import Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

import edn_format

from pipeline.codecs.base import Codec, CodecOptions
from pipeline.event import Event
from pipeline.fieldref import FieldRef
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import option, register
from pipeline.timestamp import Timestamp

PARSE_FAILURE_TAG = "_ednparsefailure"
_log = RateLimitedLogger(logging.getLogger("pipeline.codec"), interval=60.0)
# What edn_format raises on bad input: EDNDecodeError (a ValueError), ValueError for a bad #inst,
# NotImplementedError for an unknown #tag, RecursionError for absurd nesting.
_DECODE_ERRORS = (ValueError, NotImplementedError, RecursionError, TypeError)
_EDN_KIND = {"ImmutableList": "a vector", "tuple": "a list", "frozenset": "a set", "NoneType": "nothing",
             "Keyword": "a keyword", "Symbol": "a symbol", "str": "a string", "int": "a number", "float": "a number"}


@dataclass(frozen=True, kw_only=True)
class EdnOptions(CodecOptions):
    target: FieldRef | None = option(None, "Decode the map under this field instead of the event's top level.")


def event_value(value: Any) -> Any:
    """An EDN value read by edn_format as a plain event value (what Logstash's event would hold)."""
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, Mapping):
        return {event_key(k): event_value(v) for k, v in value.items()}
    if isinstance(value, Sequence | Set):  # vectors (edn_format's ImmutableList), lists (tuples), sets
        return [event_value(v) for v in value]
    if isinstance(value, datetime.datetime):
        return Timestamp.from_datetime(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, edn_format.Keyword | edn_format.Symbol):
        return value.name
    return str(value)  # #uuid, characters, tagged values we do not know


def event_key(key: Any) -> str:
    """A map key as a field name (``:host`` → ``host``; other values as text)."""
    value = event_value(key)
    return value if isinstance(value, str) else str(value)


def parse_event(text: str, target: FieldRef | None) -> Event:
    """The event of one EDN map, or the text in message tagged _ednparsefailure."""
    try:
        value = edn_format.loads(text)
        if not isinstance(value, Mapping):
            raise ValueError(f"expected an EDN map, got {_EDN_KIND.get(type(value).__name__, type(value).__name__)}")
        fields = event_value(value)
    except _DECODE_ERRORS as exc:
        _log.warning("edn", "EDN parse failure, kept as text in message and tagged %s: %s",
                     PARSE_FAILURE_TAG, exc)
        event = Event({"message": text})
        event.tag(PARSE_FAILURE_TAG)
        return event
    if target is None:
        return Event(fields)
    event = Event()
    event.set(target, fields)
    return event


def _edn_ready(value: Any) -> Any:
    """An event value that edn_format can write (timestamps as ISO 8601 text, as Logstash)."""
    if isinstance(value, dict):
        return {str(k): _edn_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_edn_ready(v) for v in value]
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, Timestamp):
        return value.iso()
    return str(value)


def event_edn(event: Event) -> str:
    """The event as one EDN map with string keys; @timestamp as ISO 8601 text."""
    return str(edn_format.dumps(_edn_ready(event.to_dict())))


@register
class Edn(Codec):
    """Reads one EDN map per chunk of data (anything else is kept in message, tagged _ednparsefailure);
    writes each event as an EDN map."""

    name = "edn"
    Options = EdnOptions

    def decode(self, data: bytes) -> Iterator[Event]:
        text = self.text(data)
        if text.strip():
            yield parse_event(text, self.options.target)

    def encode(self, event: Event) -> bytes:
        return event_edn(event).encode()
