"""The prune filter: keep or remove top-level fields by name or value patterns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline.errors import ConfigError
from pipeline.event import METADATA, TIMESTAMP, Event
from pipeline.filters._ratelimit import WarningLimiter
from pipeline.filters._rubyregex import compile_ruby
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register
from pipeline.template import Template

_KEPT = (TIMESTAMP, METADATA)  # never pruned: the event needs them


def _union(patterns: list[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return compile_ruby("|".join(f"(?:{p})" for p in patterns))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


@register
class Prune(Filter):
    """Remove top-level fields by name or by value, with regexes (unanchored, like Ruby's ``match``).

    ``whitelist_names`` keeps only matching names; ``blacklist_names``
    removes matching names (by default leftovers of unresolved sprintf like
    ``%{foo}``). ``whitelist_values``/``blacklist_values`` map a field name to
    a regex its value must (not) match; array values are filtered element by
    element. ``@timestamp`` and ``@metadata`` are never removed.
    """

    name = "prune"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        whitelist_names: list[str] = option([], "Regexes: keep only fields whose name matches one.")
        blacklist_names: list[str] = option(["%\\{[^}]+\\}"], "Regexes: remove fields whose name matches one.")
        whitelist_values: dict[str, str] = option({}, "field => regex: remove the field (or array elements) "
                                                      "whose value does not match.")
        blacklist_values: dict[str, str] = option({}, "field => regex: remove the field (or array elements) "
                                                      "whose value matches.")
        interpolate: bool = option(False, "sprintf the names and value regexes per event (slower).")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._warnings = WarningLimiter(self.logger)
        try:
            self._whitelist = _union(options.whitelist_names)
            self._blacklist = _union(options.blacklist_names)
            self._white_values = {k: compile_ruby(v) for k, v in options.whitelist_values.items()}
            self._black_values = {k: compile_ruby(v) for k, v in options.blacklist_values.items()}
        except re.error as exc:
            raise ConfigError(f"prune: {exc}") from None

    def _patterns(self, event: Event) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
        if not self.options.interpolate:
            return self._whitelist, self._blacklist, self._white_values, self._black_values
        render = lambda text: Template.compile(text).render(event)  # noqa: E731
        o = self.options
        return (_union([render(p) for p in o.whitelist_names]), _union([render(p) for p in o.blacklist_names]),
                {render(k): compile_ruby(render(v)) for k, v in o.whitelist_values.items()},
                {render(k): compile_ruby(render(v)) for k, v in o.blacklist_values.items()})

    def filter(self, event: Event) -> None:
        data = event.data
        try:
            whitelist, blacklist, white_values, black_values = self._patterns(event)
        except re.error as exc:  # an interpolated regex that does not compile
            self._warnings.warning("prune: %s", exc)
            return
        removed: set[str] = set()
        for key in list(data):
            if key in _KEPT:
                continue
            if (whitelist is not None and not whitelist.search(key)) or (
                    blacklist is not None and blacklist.search(key)):
                removed.add(key)
        for values, keep_matching in ((white_values, True), (black_values, False)):
            for key, regex in values.items():
                value = data.get(key)
                if value is None or key in removed or key in _KEPT:
                    continue
                if isinstance(value, list):
                    kept = [v for v in value if bool(regex.search(_text(v))) == keep_matching]
                    if not kept:
                        removed.add(key)
                    elif len(kept) != len(value):
                        data[key] = kept
                elif bool(regex.search(_text(value))) != keep_matching:
                    removed.add(key)
        for key in removed:
            del data[key]
        self.filter_matched(event)
