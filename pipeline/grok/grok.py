"""The ``Grok`` library class: ``Grok(pattern).match(text)`` → nested dict or None.

A drop-in for pygrok users (``from pipeline.grok import Grok``), with
Logstash's pattern library in both field-name modes, nested field names,
``:int``/``:float`` and a timeout.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pipeline import fieldref
from pipeline.fieldref import container
from pipeline.grok.compiler import Expanded, blame_compile_error, expand
from pipeline.grok.library import DEFAULT_ECS_MODE, PatternLibrary, build_library
from pipeline.grok.matcher import CompiledExpression


def _compile_errors() -> tuple[type[Exception], ...]:
    """What compiling may raise: re.error is a ValueError; regex.error only once the ``regex`` module
    is loaded (imported on first use, see matcher.regex_compile)."""
    module = sys.modules.get("regex")
    return (ValueError, OverflowError) if module is None else (module.error, ValueError, OverflowError)


# Compiled expressions by everything their expansion holds. Compiling (parse, guard, re) is most of a grok
# filter's build: a worker process, forked from the main process after it built the same filters, finds
# them here instead (~15 ms less of each worker's start); so do reloads. A CompiledExpression holds only
# what its expansion determines (its lazy caches too), so filters may share one. Bounded like re's cache.
_COMPILED: dict[tuple[Any, ...], CompiledExpression] = {}
_COMPILED_MAX = 256


def _expansion_key(expanded: Expanded) -> tuple[Any, ...]:
    return (expanded.source, expanded.pattern, expanded.needs_regex_module, expanded.used, expanded.ignored_types,
            tuple((c.group, c.field, c.type) for c in expanded.captures))


def compile_expression(expression: str, library: PatternLibrary, *,
                       named_captures_only: bool = True) -> CompiledExpression:
    """Expand, translate and compile one grok expression; GrokError naming the culprit if it can't."""
    expanded = expand(expression, library, named_captures_only=named_captures_only)
    key = _expansion_key(expanded)
    compiled = _COMPILED.get(key)
    if compiled is not None:
        return compiled
    try:
        compiled = CompiledExpression(expanded)
    except _compile_errors() as exc:
        raise blame_compile_error(expanded, library, exc) from exc
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.pop(next(iter(_COMPILED)))  # the oldest
    _COMPILED[key] = compiled
    return compiled


class Grok:
    """One compiled grok expression.

    ``match(text)`` returns the captured fields as a nested dict
    (``[source][address]`` → ``{"source": {"address": ...}}``), with ``:int`` and
    ``:float`` applied and empty captures left out, or None when the text does
    not match. ``timeout`` (seconds, None = none) raises
    :class:`~pipeline.grok.matcher.GrokTimeout` when exceeded. Matching searches the text as
    Logstash and pygrok do; ``fullmatch=True`` requires the whole text to match instead.
    ``custom_patterns_dir`` is accepted as pygrok spells it.
    """

    def __init__(
        self,
        pattern: str,
        ecs_compatibility: str = DEFAULT_ECS_MODE,
        custom_patterns: Mapping[str, str] | None = None,
        patterns_dir: Iterable[str | Path] | str | Path | None = None,
        *,
        named_captures_only: bool = True,
        timeout: float | None = None,
        patterns_files_glob: str = "*",
        library: PatternLibrary | None = None,
        fullmatch: bool = False,
        custom_patterns_dir: str | Path | None = None,
    ) -> None:
        if isinstance(patterns_dir, (str, Path)):
            patterns_dir = [patterns_dir]
        if custom_patterns_dir is not None:  # pygrok's name for it
            patterns_dir = [*(patterns_dir or ()), custom_patterns_dir]
        self.fullmatch = fullmatch
        self.pattern = pattern
        self.library = library or build_library(ecs_compatibility, patterns_dir or (), patterns_files_glob,
                                                custom_patterns)
        self.compiled = compile_expression(pattern, self.library, named_captures_only=named_captures_only)
        self.timeout = timeout
        self._paths = [fieldref.parse(name).path for _, name, _ in self.compiled.fields]

    @property
    def regex(self) -> str:
        """The expanded expression in Python regex syntax."""
        return self.compiled.expanded.pattern

    def match(self, text: str) -> dict[str, Any] | None:
        found = self.compiled.search(text, self.timeout, full=self.fullmatch)
        if found is None:
            return None
        result: dict[str, Any] = {}
        for path, (_, value) in zip(self._paths, self.compiled.captures(found), strict=True):
            if value is None or value == "":
                continue
            assign(result, path, value)
        return result


def assign(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set a nested key; a second value for the same key makes a list (as Logstash's grok)."""
    node = container(target, path)
    last = path[-1]
    if last not in node:
        node[last] = value
    elif isinstance(node[last], list):
        node[last].append(value)
    else:
        node[last] = [node[last], value]
