"""The grok filter: parse text into fields with named patterns, as Logstash's grok."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline import fieldref
from pipeline.errors import ConfigError
from pipeline.event import TIMESTAMP, Event
from pipeline.fieldref import FieldRef
from pipeline.filters.base import Filter, FilterOptions
from pipeline.grok import CompiledExpression, GrokTimeout, build_library, compile_expression
from pipeline.grok.library import DEFAULT_ECS_MODE
from pipeline.grok.matcher import STEPS_PER_SECOND
from pipeline.grok.setter import Setter, Target, compile_setter
from pipeline.monitoring.counters import MatchCounters
from pipeline.plugin import option, register


def _positive_or_zero(value: int) -> str | None:
    return None if value >= 0 else "must be 0 (no timeout) or a positive number of milliseconds"


@dataclass(frozen=True)
class _Capture:
    """Where one named group goes: ``key`` for a top-level field (the fast path), else ``ref``."""

    index: int  # into match.groups()
    convert: Any  # int / float converter or None
    kind: str | None  # "int", "float" or None
    key: str | None
    ref: FieldRef
    overwrite: bool
    parents: tuple[str, ...]  # nested fields: the path to the parent hash ...
    last: str  # ... and the key in it


@dataclass(frozen=True)
class _Pattern:
    expression: CompiledExpression
    captures: tuple[_Capture, ...]  # in the order the setter applies them
    setter: Setter  # generated: groups → fields (pipeline.grok.setter)
    fast_search: Any  # re's bound search, or None
    fast_limit: int  # lines up to this length are safe on re within the (per pattern) timeout
    risk: Any  # the guard's Risk, to check longer lines one by one
    fits: Any  # the same check generated for this pattern and timeout (the short path's)
    text: str = ""  # the expression as written, for the per-pattern counters


@register
class Grok(Filter):
    """Parse unstructured text into fields with named patterns (``%{IP:[source][ip]}``).

    Logstash-compatible: the same pattern names (our own library in ``grok_patterns/``, in legacy
    and ECS field-name sets), options, defaults and failure tags. Patterns are compiled once at
    start; a pattern that does not compile or names an unknown pattern is a config error.
    """

    name = "grok"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        match: dict[str, list[str]] = option(
            {}, 'Field => pattern, or field => [patterns] tried in order: { "message" => "%{SYSLOGLINE}" }.')
        break_on_match: bool = option(True, "Stop at the first pattern that matches (per field and overall).")
        named_captures_only: bool = option(
            True, "Only keep captures with a name (%{IP:client}); false also keeps %{IP} as field IP.")
        keep_empty_captures: bool = option(False, "Also set fields whose capture is empty.")
        overwrite: list[str] = option(
            [], "Fields to overwrite with the capture; other existing fields get the value appended (array).")
        pattern_definitions: dict[str, str] = option(
            {}, "Extra patterns NAME => regex, for this filter only (override the library).")
        patterns_dir: list[Path] = option([], "Folders (or files) of extra pattern files, NAME REGEX per line.")
        patterns_files_glob: str = option("*", "Which files of patterns_dir to load.")
        target: str | None = option(None, "Put the captures under this field instead of the event root.")
        tag_on_failure: list[str] = option(["_grokparsefailure"], "Tags added when no pattern matches.")
        tag_on_timeout: str = option("_groktimeout", "Tag added when matching runs past timeout_millis.")
        timeout_millis: int = option(
            30000, "Give up matching after this long (0 = no limit); see timeout_scope.",
            check=_positive_or_zero)
        timeout_scope: Literal["pattern", "event"] = option(
            "pattern", "The timeout applies to each pattern, or to all the patterns of one event.")
        ecs_compatibility: Literal["disabled", "v1", "v8"] | None = option(
            None, "Pattern set: disabled = legacy field names, v1/v8 = ECS names "
                  "(default: the pipeline.ecs_compatibility setting, else v8).")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        opts = self.options
        self.ecs_compatibility = opts.ecs_compatibility or str(
            self.context.settings.get("pipeline.ecs_compatibility", DEFAULT_ECS_MODE))
        self.timeout: float | None = opts.timeout_millis / 1000 if opts.timeout_millis else None
        self.per_event = opts.timeout_scope == "event"
        self.fast_budget = (self.timeout or 0) * STEPS_PER_SECOND
        self.tag_on_timeout = opts.tag_on_timeout
        self._stop = threading.Event()  # set by interrupt(): the pipeline is stopping
        self.tag_on_failure = tuple(opts.tag_on_failure)
        self.keep_empty = opts.keep_empty_captures
        self.break_on_match = opts.break_on_match
        self.stats = MatchCounters()  # shown in /_node/stats and /metrics (pipeline_grok_*)
        self.library = build_library(self.ecs_compatibility, opts.patterns_dir, opts.patterns_files_glob,
                                     opts.pattern_definitions)
        target = fieldref.parse(opts.target).path if opts.target else ()
        overwrite = set()
        for name in opts.overwrite:
            overwrite.add(name)
            overwrite.add(fieldref.parse(name).path)
        cache: dict[str, _Pattern] = {}
        self.matches: list[tuple[FieldRef, tuple[_Pattern, ...]]] = []
        if not opts.match and self.tag_on_failure:
            # Valid in Logstash, which then tags every event as a failure (nothing can match): say so once.
            self.logger.warning("grok without match: every event gets tag_on_failure %s (as in Logstash); "
                                "set tag_on_failure => [] for a filter that only applies its common options",
                                list(self.tag_on_failure))
        for source, expressions in opts.match.items():
            patterns = []
            for text in expressions:
                if text not in cache:
                    compiled = compile_expression(text, self.library,
                                                  named_captures_only=opts.named_captures_only)
                    if compiled.expanded.ignored_types:
                        self.logger.warning("grok: %s: only :int and :float convert a capture (as in Logstash); "
                                            "the value stays text", ", ".join(compiled.expanded.ignored_types))
                    captures = tuple(self._capture(index, name, convert, capture.type, target, overwrite)
                                     for (index, name, convert), capture
                                     in zip(compiled.fields, compiled.expanded.captures, strict=True))
                    fast_limit = -1
                    if compiled.fast is not None:
                        fast_limit = sys.maxsize if self.timeout is None else compiled.fast_limit(self.timeout)
                    cache[text] = _Pattern(compiled, captures, self._setter(captures),
                                           compiled.fast.search if compiled.fast is not None else None,
                                           fast_limit, compiled.risk, compiled.risk.line_check(self.fast_budget),
                                           text)
                patterns.append(cache[text])
            self.matches.append((fieldref.parse(source), tuple(patterns)))
        # The common case (one top-level field, one pattern on re, per-pattern timeout) gets its own
        # short path in filter_batch(); anything unusual on an event goes through filter().
        self._single: tuple[str, _Pattern] | None = None
        if len(self.matches) == 1 and not self.per_event:
            source_ref, (only, *others) = self.matches[0]
            if not others and len(source_ref.path) == 1 and only.fast_search is not None:
                self._single = (source_ref.path[0], only)
        self._common_options = bool(opts.add_field or opts.remove_field or opts.add_tag or opts.remove_tag)

    def _setter(self, captures: tuple[_Capture, ...]) -> Setter:
        """The generated setter of one pattern; unusual cases go to :meth:`_apply_capture`."""
        apply_capture = self._apply_capture

        def fallback(event: Event, number: int, value: Any) -> None:
            apply_capture(event, captures[number], value)

        targets = [Target(c.index, c.ref.path, c.kind, c.overwrite, generic=c.ref.path[0] == TIMESTAMP)
                   for c in captures]
        return compile_setter(targets, self.keep_empty, fallback)

    @staticmethod
    def _capture(index: int, name: str, convert: Any, kind: str | None, target: tuple[str, ...],
                 overwrite: set[Any]) -> _Capture:
        try:
            path = fieldref.parse(name).path
        except ConfigError as exc:
            raise ConfigError(f"grok capture name {name!r} is not a valid field reference: {exc.message}") from exc
        full = target + path
        key = full[0] if len(full) == 1 and full[0] != TIMESTAMP else None
        return _Capture(index, convert, kind, key, fieldref.FieldRef("".join(f"[{p}]" for p in full), full),
                        name in overwrite or path in overwrite, full[:-1], full[-1])

    # -- per event ------------------------------------------------------------
    def filter_batch(self, events: list[Event]) -> list[Event]:
        """The runtime's entry: a whole batch per call, the common case (one field, one pattern, a line
        the guard clears for re) inline, and the counters updated once per batch."""
        if self._single is None:
            for event in events:
                self.filter_guarded(event)
            return events
        key, pattern = self._single
        limit, fits, search, setter = pattern.fast_limit, pattern.fits, pattern.fast_search, pattern.setter
        tags, common = self.tag_on_failure, self._common_options
        matches = failures = 0
        for event in events:
            try:
                data = event.data
                text = data.get(key)
                if type(text) is not str or (len(text) > limit and not fits(text)):
                    self.filter(event)  # not text, or a line that needs the timeout engine
                    continue
                found = search(text)
                if found is None:
                    failures += 1
                    if tags:
                        event.tag(*tags)
                    continue
                setter(event, data, found.groups())
                matches += 1
                if common:
                    self.filter_matched(event)
            except Exception as exc:  # noqa: BLE001 - as the runtime: one bad event never stops the batch
                self.filter_failed(event, exc)
        self.stats.add(matches=matches, failures=failures)
        return events

    def filter(self, event: Event) -> None:
        """One event, every case (several fields or patterns, lists, timeouts); see filter_batch."""
        deadline = time.monotonic() + self.timeout if self.per_event and self.timeout else None
        matched = False
        try:
            for source, patterns in self.matches:
                value = source.get(event.data)
                if value is None:
                    value = ""  # Logstash matches nil.to_s: a pattern that accepts "" still matches
                if isinstance(value, list):
                    hit = False
                    for item in value:
                        hit |= self._match_one(event, self._text(item), patterns, deadline)
                else:
                    hit = self._match_one(event, self._text(value), patterns, deadline)
                if hit:
                    matched = True
                    if self.break_on_match:
                        break
        except GrokTimeout:
            self.logger.warning("grok: timeout after %s ms matching an event; tagged %s",
                                self.options.timeout_millis, self.tag_on_timeout)
            event.tag(self.tag_on_timeout)
            self.stats.count("timeouts")
            return
        if matched:
            self.stats.count("matches")
            self.filter_matched(event)
        else:
            self.stats.count("failures")
            if self.tag_on_failure:
                event.tag(*self.tag_on_failure)

    def interrupt(self) -> None:
        """The pipeline is stopping: a running slow match gives up (its event is tagged, not lost)."""
        self._stop.set()

    @staticmethod
    def _text(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def _match_one(self, event: Event, text: str, patterns: tuple[_Pattern, ...], deadline: float | None) -> bool:
        hit = False
        length = len(text)
        for pattern in patterns:
            if deadline is None and (length <= pattern.fast_limit or (
                    pattern.fast_search is not None and pattern.risk.fits(text, self.fast_budget))):
                found = pattern.fast_search(text)  # hot path: re, proven safe for this line
            else:
                timeout = self.timeout if deadline is None else deadline - time.monotonic()
                try:
                    found = pattern.expression.search(text, timeout, stop=self._stop)
                except GrokTimeout:
                    self.stats.count_timeout(pattern.text)
                    raise
            if found is None:
                continue
            hit = True
            pattern.setter(event, event.data, found.groups())
            if self.break_on_match:
                break
        return hit

    def _apply_capture(self, event: Event, capture: _Capture, value: Any) -> None:
        """One capture with Logstash's rules, for what the generated setter leaves: an existing value
        (appended: array), a list or scalar on the way, @timestamp. ``value`` is already converted."""
        node = event.data
        key = capture.key
        if key is None and capture.parents and capture.parents[0] != TIMESTAMP:
            for part in capture.parents:  # walk/create the parent hashes
                child = node.get(part)
                if type(child) is not dict:
                    if child is not None:
                        break  # a list or scalar on the way: FieldRef semantics below
                    child = node[part] = {}
                node = child
            else:
                key = capture.last
        if key is not None:
            current = node.get(key)
            if current is None or capture.overwrite:
                node[key] = value
            elif type(current) is list:
                current.append(value)
            elif type(current) is str:
                node[key] = [current, value]
            return
        self._apply_slow(event, capture, value)

    @staticmethod
    def _apply_slow(event: Event, capture: _Capture, value: Any) -> None:
        """Captures into @timestamp or through lists: full field-reference semantics."""
        ref = capture.ref
        current = ref.get(event.data)
        if current is None or capture.overwrite:
            try:
                event.set(ref, value)
            except (TypeError, ValueError):  # e.g. a capture into @timestamp that is not a date
                event.tag("_grokparsefailure")
        elif isinstance(current, list):
            current.append(value)
        elif isinstance(current, str):
            ref.set(event.data, [current, value])
        # any other existing value (number, hash) is kept, as Logstash does
