"""sprintf templates: ``%{[a][b]}``, ``%{field}``, ``%{+YYYY.MM.dd}``, ``%{+%s}``, ``%{{yyyy-MM-dd}}``.

Parsed once into parts, rendered per event. As in Logstash: lists render
joined with ``,``, maps as JSON, a missing field is left literally
(``%{missing}``), dates come from ``@timestamp`` in UTC unless a timezone is
given (our ``index_timezone``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline import fieldref, joda
from pipeline.errors import FieldReferenceError, TemplateError
from pipeline.timestamp import Timestamp

if TYPE_CHECKING:
    from pipeline.event import Event

# %{{java-time}} must be tried before %{...}; field refs may contain brackets.
_TOKEN = re.compile(r"%\{\{(?P<javatime>[^}]*)\}\}|%\{(?P<inner>[^}]*)\}")

Renderer = Callable[["Event"], str]
_TIME_OF_DAY = frozenset("HkhKmsaZXz")  # letters that can change within a day (offsets change at DST)


def _render_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, Timestamp):
        return value.iso()
    if isinstance(value, list):
        return ",".join(_render_value(v) for v in value)
    if isinstance(value, dict):
        from pipeline.serde import dumps_str

        return dumps_str(value)
    if value is None:
        return ""
    return str(value)


def load_timezone(name: str | None) -> tzinfo:
    """A tzinfo for an IANA name (``Asia/Shanghai``) or ``UTC``; TemplateError if unknown."""
    if not name or name.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TemplateError(f"unknown timezone {name!r} (expected an IANA name like 'Asia/Shanghai')") from exc


class Template:
    """A parsed sprintf template. ``Template.compile`` caches by text."""

    __slots__ = ("text", "_parts", "_constant", "tz", "_day_cache", "_date_buckets")

    def __init__(self, text: str, tz: str | tzinfo | None = None) -> None:
        self.text = text
        self.tz: tzinfo = tz if isinstance(tz, tzinfo) else load_timezone(tz)
        self._day_cache: dict[tuple[int, str], str] = {}
        self._date_buckets: list[int] = []  # each date part's time bucket (see _date_renderer)
        parts: list[str | Renderer] = []
        pos = 0
        for match in _TOKEN.finditer(text):
            if match.start() > pos:
                parts.append(text[pos:match.start()])
            parts.append(self._compile_token(match))
            pos = match.end()
        if pos < len(text):
            parts.append(text[pos:])
        self._parts = tuple(parts)
        self._constant = all(isinstance(p, str) for p in parts)

    @classmethod
    @lru_cache(maxsize=4096)
    def compile(cls, text: str) -> Template:
        return cls(text)

    @property
    def is_constant(self) -> bool:
        return self._constant

    def __repr__(self) -> str:
        return f"Template({self.text!r})"

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Template) and other.text == self.text and other.tz == self.tz

    def __hash__(self) -> int:
        return hash(self.text)

    def _compile_token(self, match: re.Match[str]) -> Renderer:
        javatime = match.group("javatime")
        literal = match.group(0)
        if javatime is not None:
            return self._date_renderer(javatime, literal)
        inner = match.group("inner")
        if inner.startswith("+"):
            fmt = inner[1:]
            if fmt == "%s":
                return self._epoch_renderer(literal)
            return self._date_renderer(fmt, literal)
        if inner == "":  # Logstash looks up the empty name, which no field has, and keeps "%{}" as written
            return lambda event: literal
        try:
            ref = fieldref.parse(inner)
        except FieldReferenceError as exc:
            raise TemplateError(f"invalid field reference in template {self.text!r}: {exc.message}") from exc

        def render_field(event: Event) -> str:
            value = ref.get(event.data, _Missing)
            return literal if value is _Missing else _render_value(value)

        return render_field

    @staticmethod
    def _epoch_renderer(literal: str) -> Renderer:
        def render_epoch(event: Event) -> str:
            stamp = event.data.get("@timestamp")
            # Like the other date parts: an event whose @timestamp is missing or was set by hand to
            # something else keeps the reference as written instead of failing the whole batch.
            return str(stamp.millis // 1000) if isinstance(stamp, Timestamp) else literal

        return render_epoch

    def _date_renderer(self, pattern: str, literal: str) -> Renderer:
        try:
            fmt = joda.compile_formatter(pattern)
        except ValueError as exc:
            raise TemplateError(f"in template {self.text!r}: {exc}") from exc
        tz = self.tz
        cache = self._day_cache
        letters = {t[0] for t in joda.tokenize(pattern) if isinstance(t, tuple)}
        # Daily index names are rendered millions of times: cache the rendering per time bucket.
        # A pattern without time-of-day fields changes at most every 15 minutes in any time zone
        # (every UTC offset is a multiple of 15 minutes), one with seconds every second.
        if "S" in letters:
            bucket_ms = 0
        elif letters & _TIME_OF_DAY:
            bucket_ms = 1000
        else:
            bucket_ms = 900_000
        self._date_buckets.append(bucket_ms)

        def render_date(event: Event) -> str:
            stamp = event.data.get("@timestamp")
            if not isinstance(stamp, Timestamp):
                return literal
            if not bucket_ms:
                return fmt(datetime.fromtimestamp(stamp.millis / 1000, tz))
            key = (stamp.millis // bucket_ms, pattern)
            hit = cache.get(key)
            if hit is None:
                if len(cache) > 4096:
                    cache.clear()
                hit = cache[key] = fmt(datetime.fromtimestamp(key[0] * bucket_ms / 1000, tz))
            return hit

        return render_date

    def render(self, event: Event) -> str:
        if self._constant:
            return self.text
        parts = self._parts
        if len(parts) == 2:  # the common "logs-%{+YYYY.MM.dd}" shape: no join, no generator
            head, tail = parts
            left = head if isinstance(head, str) else head(event)
            right = tail if isinstance(tail, str) else tail(event)
            return left + right
        return "".join([p if isinstance(p, str) else p(event) for p in parts])

    def render_all(self, events: Sequence[Event]) -> list[str]:
        """``render`` of each event. For a template whose only references are dates (a daily index name),
        consecutive events in one time bucket get the same text without rendering it again."""
        renderers = sum(1 for part in self._parts if not isinstance(part, str))
        buckets = self._date_buckets
        if self._constant or len(buckets) != renderers or not all(buckets):
            return [self.render(event) for event in events]
        bucket = min(buckets)  # the buckets nest (1 s divides 15 min): one key covers every date part
        names: list[str] = []
        last_key, last = None, ""
        for event in events:
            stamp = event.data.get("@timestamp")
            if type(stamp) is not Timestamp:
                names.append(self.render(event))
                continue
            key = stamp.millis // bucket
            if key != last_key:
                last, last_key = self.render(event), key
            names.append(last)
        return names

    def render_value(self, event: Event) -> Any:
        """Like render, but a template that is exactly one field reference keeps the value's type."""
        if len(self._parts) == 1 and not isinstance(self._parts[0], str):
            match = _TOKEN.fullmatch(self.text)
            if match and match.group("inner") and not match.group("inner").startswith("+"):
                value = event.get(fieldref.parse(match.group("inner")), _Missing)
                return self.text if value is _Missing else value
        return self.render(event)


class _Missing:
    pass
