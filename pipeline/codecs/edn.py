"""edn codec: each chunk of data is one EDN map (Clojure's extensible data notation) → one event.

EDN is read and written here, for what Logstash's codec (Ruby's edn gem) reads and writes: maps,
vectors, lists, sets, strings, characters, keywords, symbols, integers (``12N``), floats
(``1.5M``), nil, booleans, comments, ``#_`` discards, ``#inst`` (a timestamp) and ``#uuid`` (its
text). Keywords and symbols become their names, lists and sets arrays. A chunk that is not an
EDN map is kept as text in ``message`` (Logstash's fallback) and, so that it is not lost
silently, tagged ``_ednparsefailure``.

Why not edn_format (PyPI): it builds its ply lexer and parser again for every value it reads,
with ply's debug log on (INFO lines per event in our log), and brings ply, pytz and pyRFC3339.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipeline.codecs.base import Codec, CodecOptions
from pipeline.event import Event
from pipeline.fieldref import FieldRef
from pipeline.logs import RateLimitedLogger
from pipeline.plugin import option, register
from pipeline.timestamp import Timestamp

PARSE_FAILURE_TAG = "_ednparsefailure"
#: our tag (not Logstash's) for an event whose chunk held more than one value; the rest is in TRAILING_FIELD
TRAILING_TAG = "_edntrailingdata"
TRAILING_FIELD = "edn_trailing"
MAX_DEPTH = 100  # deeper nesting is refused (a hostile line must not exhaust the stack)
_log = RateLimitedLogger(logging.getLogger("pipeline.codec"), interval=60.0)

_SKIP = re.compile(r"(?:[\s,]|;[^\n]*)*")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_ESCAPES = {"t": "\t", "r": "\r", "n": "\n", "b": "\b", "f": "\f", '"': '"', "\\": "\\"}
_CHAR = re.compile(r"\\(newline|return|space|tab|u[0-9a-fA-F]{4}|.)", re.DOTALL)
_CHAR_NAMES = {"newline": "\n", "return": "\r", "space": " ", "tab": "\t"}
_TOKEN = re.compile(r"[^\s,;()\[\]{}\"]+")
_INTEGER = re.compile(r"[+-]?\d+N?")
_FLOAT = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?M?")
_SPECIAL_FLOATS = {"##Inf": math.inf, "##-Inf": -math.inf, "##NaN": math.nan}
_CLOSERS = {"[": "]", "(": ")", "{": "}", "#{": "}"}


class EdnError(ValueError):
    """Text that is not valid EDN (or not what this codec reads), with the offset where it fails."""


class _Reader:
    """Recursive descent over one text; values come out as plain event values."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> EdnError:
        return EdnError(f"{what} at offset {self.pos}")

    def skip(self) -> None:
        self.pos = _SKIP.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def read(self, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH}")
        self.skip()
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise self.fail("unexpected end of input")
        first = text[pos]
        if first == '"':
            found = _STRING.match(text, pos)
            if not found:
                raise self.fail("unterminated string")
            self.pos = found.end()
            return _ESCAPE.sub(_unescape, found.group(1))
        if first == "\\":
            found = _CHAR.match(text, pos)
            if not found:
                raise self.fail("a backslash ends the input")
            self.pos = found.end()
            name = found.group(1)
            return _CHAR_NAMES.get(name) or (chr(int(name[1:], 16)) if len(name) == 5 else name)
        if first in "[({" or text.startswith("#{", pos):
            opener = "#{" if first == "#" else first
            self.pos += len(opener)
            items = self.read_until(_CLOSERS[opener], depth)
            if opener != "{":
                return items
            if len(items) % 2:
                raise self.fail("a map needs an even number of forms")
            return {_field_name(k): v for k, v in zip(items[::2], items[1::2], strict=True)}
        if first == "#":
            return self.read_tagged(depth)
        if first in ")]}":
            raise self.fail(f"unexpected {first!r}")
        return self.read_atom()

    def read_until(self, closer: str, depth: int) -> list[Any]:
        items: list[Any] = []
        while True:
            self.skip()
            if self.pos >= len(self.text):
                raise self.fail(f"expected {closer!r} before the end of input")
            if self.text[self.pos] == closer:
                self.pos += 1
                return items
            if self.text.startswith("#_", self.pos):
                self.pos += 2
                self.read(depth + 1)
                continue
            items.append(self.read(depth + 1))

    def read_tagged(self, depth: int) -> Any:
        token = _TOKEN.match(self.text, self.pos)
        name = token.group(0) if token else "#"
        if name in _SPECIAL_FLOATS:
            self.pos += len(name)
            return _SPECIAL_FLOATS[name]
        if name.startswith("#_"):
            self.pos += 2
            self.read(depth + 1)
            return self.read(depth)
        self.pos += len(name)
        value = self.read(depth + 1)
        if name == "#inst" and isinstance(value, str):
            try:
                return Timestamp.parse(value)
            except ValueError:
                raise self.fail(f"#inst {value!r} is not an RFC 3339 time") from None
        if name == "#uuid" and isinstance(value, str):
            return value
        raise self.fail(f"unknown tag {name}")

    def read_atom(self) -> Any:
        token = _TOKEN.match(self.text, self.pos)
        assert token is not None  # read() handled every character that cannot start a token
        word = token.group(0)
        self.pos = token.end()
        if word in ("nil", "true", "false"):
            return None if word == "nil" else word == "true"
        if _INTEGER.fullmatch(word):
            return int(word.rstrip("N"))
        if _FLOAT.fullmatch(word):
            return float(word.rstrip("M"))
        if word[0].isdigit() or (word[0] in "+-" and word[1:2].isdigit()):
            raise self.fail(f"invalid number {word!r}")
        return word[1:] if word.startswith(":") and len(word) > 1 else word  # keyword or symbol: its name


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if len(code) == 5 and code[0] == "u":
        return chr(int(code[1:], 16))
    if code not in _ESCAPES:
        raise EdnError(f"invalid escape \\{code} in a string")
    return _ESCAPES[code]


def _field_name(key: Any) -> str:
    """A map key as a field name (``:host`` → ``host``; other values as their EDN text)."""
    return key if isinstance(key, str) else to_edn(key)


def read_edn(text: str) -> Any:
    """The first EDN value of the text (what follows it is ignored, as Ruby's ``EDN.read``)."""
    return _Reader(text).read()


def read_edn_prefix(text: str) -> tuple[Any, str]:
    """The first EDN value of the text and what follows it (``""`` when only blanks, commas or
    comments do)."""
    reader = _Reader(text)
    value = reader.read()
    reader.skip()
    return value, text[reader.pos:].rstrip()


def to_edn(value: Any) -> str:
    """A plain event value as EDN text; timestamps as ISO 8601 strings, as Logstash writes them."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "##NaN"
        return repr(value) if not math.isinf(value) else ("##Inf" if value > 0 else "##-Inf")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{to_edn(str(k))} {to_edn(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + " ".join(to_edn(v) for v in value) + "]"
    if isinstance(value, Timestamp):
        return to_edn(value.iso())
    return to_edn(str(value))


def parse_event(text: str, target: FieldRef | None) -> Event:
    """The event of one EDN map, or the text in message tagged _ednparsefailure; text after the map
    goes to edn_trailing, tagged _edntrailingdata."""
    try:
        fields, trailing = read_edn_prefix(text)
        if not isinstance(fields, dict):
            raise EdnError(f"expected an EDN map, got {to_edn(fields)[:40]}")
    except EdnError as exc:
        _log.warning("edn", "EDN parse failure, kept as text in message and tagged %s: %s",
                     PARSE_FAILURE_TAG, exc)
        event = Event({"message": text})
        event.tag(PARSE_FAILURE_TAG)
        return event
    if target is None:
        event = Event(fields)
    else:
        event = Event()
        event.set(target, fields)
    if trailing:  # Logstash drops it silently; we keep it beside the first map
        event.set(TRAILING_FIELD, trailing)
        event.tag(TRAILING_TAG)
    return event


def event_edn(event: Event) -> str:
    """The event as one EDN map with string keys; @timestamp as ISO 8601 text."""
    return to_edn(event.to_dict())


@dataclass(frozen=True, kw_only=True)
class EdnOptions(CodecOptions):
    target: FieldRef | None = option(None, "Decode the map under this field instead of the event's top level.")


@register
class Edn(Codec):
    """Reads one EDN map per chunk of data (anything else is kept in message, tagged _ednparsefailure;
    text after the map in edn_trailing, tagged _edntrailingdata); writes each event as an EDN map."""

    name = "edn"
    Options = EdnOptions

    def decode(self, data: bytes) -> Iterator[Event]:
        text = self.text(data)
        if text.strip():
            yield parse_event(text, self.options.target)

    def encode(self, event: Event) -> bytes:
        return event_edn(event).encode()
