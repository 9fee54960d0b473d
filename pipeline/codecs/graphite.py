"""graphite codec: Carbon's plaintext protocol, one "metric value timestamp" line per metric.

Decoding makes one event per line, the metric name as its field (a float) and the line's
timestamp as @timestamp. Encoding writes the event's metrics (the ``metrics`` option, or its
fields with ``fields_are_metrics``), all stamped with the event's @timestamp in epoch seconds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipeline.codecs._lines import TRUNCATED_TAG, LineEventsCodec, size_limit_option
from pipeline.codecs.base import CodecOptions
from pipeline.event import Event
from pipeline.plugin import ByteSize, option, register
from pipeline.rubyregex import compile_ruby
from pipeline.template import Template
from pipeline.timestamp import Timestamp

#: our tag for a line that is not "metric value [timestamp]" (Logstash's codec raises on it)
PARSE_FAILURE_TAG = "_graphiteparsefailure"
EXCLUDE_ALWAYS = frozenset({"@timestamp", "@version"})
METRIC_PLACEHOLDER = "*"
# Ruby's String#to_f reads the longest numeric prefix and gives 0.0 when there is none.
_RUBY_FLOAT_PREFIX = re.compile(r"\s*([+-]?(?:\d[\d_]*)?(?:\.\d+)?(?:[eE][+-]?\d+)?)")


def _check_regexes(patterns: list[str]) -> str | None:
    for pattern in patterns:
        try:
            compile_ruby(pattern)
        except re.error as exc:
            return str(exc)
    return None


@dataclass(frozen=True, kw_only=True)
class GraphiteOptions(CodecOptions):
    metrics: dict[str, Any] = option(
        {}, "Metrics to write: name => value, both sprintf (\"%{host}.uptime\" => \"%{uptime_1m}\"). A value "
        "that is not a number is written as 0.0, as Logstash.")
    fields_are_metrics: bool = option(
        False, "Write every top-level field (but @timestamp and @version) as a metric, instead of `metrics`.")
    include_metrics: list[str] = option(
        [".*"], "Write only metrics whose name matches one of these regexes (with fields_are_metrics an "
        "empty list keeps all).", check=_check_regexes)
    exclude_metrics: list[str] = option(
        ["%\\{[^}]+\\}"], "Skip metrics whose name matches one of these regexes (by default: names with an "
        "unresolved %{field}).", check=_check_regexes)
    metrics_format: Template = option(
        Template("*"), "Name written for a metric: sprintf, where * stands for the metric's name "
        "(\"%{host}.foo.*.sum\").")
    decode_size_limit_bytes: ByteSize = size_limit_option(
        1024 * 1024, f"A cut line is not parsed, so it is also tagged {PARSE_FAILURE_TAG}. Not in Logstash, whose "
        "codec has no limit.")


def ruby_to_f(text: str) -> float:
    """Ruby's ``String#to_f``: the leading number of the text, 0.0 when there is none."""
    prefix = _RUBY_FLOAT_PREFIX.match(text).group(1).replace("_", "")  # type: ignore[union-attr]
    try:
        return float(prefix)
    except ValueError:
        return 0.0


def ruby_float_text(value: float) -> str:
    """A float as Ruby's ``Float#to_s`` writes it (``1.0``, ``1.0e+20``, ``Infinity``, ``NaN``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    if e and "." not in mantissa:
        mantissa += ".0"
    return mantissa + (f"e{exponent}" if e else "")


@register
class Graphite(LineEventsCodec):
    """Reads and writes Graphite's plaintext lines ("metric value timestamp"); a malformed line is tagged
    _graphiteparsefailure and kept in message."""

    name = "graphite"
    Options = GraphiteOptions

    cut_tags = (PARSE_FAILURE_TAG, TRUNCATED_TAG)

    def register(self) -> None:
        super().register()
        self._include = [compile_ruby(p) for p in self.options.include_metrics]
        self._exclude = [compile_ruby(p) for p in self.options.exclude_metrics]
        self._metrics = [(Template(str(name)), Template(str(value))) for name, value in self.options.metrics.items()]

    # -- decode ---------------------------------------------------------------
    def lines_events(self, lines: list[bytes]) -> Iterator[Event]:
        for raw in lines:
            line = self.text(raw).strip()
            if line:
                yield _metric_event(line)

    # -- encode ---------------------------------------------------------------
    def _wanted(self, name: str, *, empty_includes_all: bool) -> bool:
        # As Logstash: an empty include_metrics keeps every field with fields_are_metrics, no metric without.
        if self._include:
            if not any(p.search(name) for p in self._include):
                return False
        elif not empty_includes_all:
            return False
        return not any(p.search(name) for p in self._exclude)

    def encode(self, event: Event) -> bytes:
        seconds = str(event.timestamp.millis // 1000)
        name_format = self.options.metrics_format.render(event)
        lines = []
        if self.options.fields_are_metrics:
            for name, value in event.to_dict().items():
                if name in EXCLUDE_ALWAYS or not self._wanted(name, empty_includes_all=True):
                    continue
                number = ruby_to_f(event.sprintf(_ruby_text(value)))
                lines.append(f"{name_format.replace(METRIC_PLACEHOLDER, name)} {ruby_float_text(number)} {seconds}")
        else:
            for name_template, value_template in self._metrics:
                name = name_template.render(event)
                if not self._wanted(name, empty_includes_all=False):
                    continue
                number = ruby_to_f(value_template.render(event))
                lines.append(f"{name_format.replace(METRIC_PLACEHOLDER, name)} {ruby_float_text(number)} {seconds}")
        return "".join(f"{line}\n" for line in lines).encode()


def _metric_event(line: str) -> Event:
    """The event of one "metric value timestamp" line, or the line in message tagged _graphiteparsefailure."""
    parts = line.split()
    try:
        if len(parts) != 3:
            raise ValueError("expected three fields")
        name, value, seconds = parts
        return Event({name: float(value), "@timestamp": Timestamp(int(float(seconds)) * 1000)})
    except (ValueError, OverflowError):
        event = Event({"message": line})
        event.tag(PARSE_FAILURE_TAG)
        return event


def _ruby_text(value: Any) -> str:
    """A field's value as text to read a number from (a float is written as Ruby writes it)."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, float):
        return ruby_float_text(value)
    return str(value)
