"""Grok expression → one compiled regex plus the list of fields it captures.

``%{SYNTAX}``, ``%{SYNTAX:semantic}``, ``%{SYNTAX:[nested][field]}`` and
``%{SYNTAX:semantic:int|float}`` are expanded recursively from a
:class:`~pipeline.grok.library.PatternLibrary`, then the whole expression is
translated from Ruby regex syntax once (:mod:`pipeline.grok.translate`) and
compiled for both engines (see :mod:`pipeline.grok.matcher`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.errors import ConfigError
from pipeline.grok.library import PatternLibrary
from pipeline.grok.translate import Capture, TranslateError, translate

_REFERENCE = re.compile(r"%\{([A-Za-z0-9_]+)(?::([^:}]*))?(?::([A-Za-z0-9_]*))?\}")
TYPES = ("int", "float")
_MAX_DEPTH = 64


class GrokError(ConfigError):
    """A grok expression or pattern definition that cannot be compiled (names which one and where)."""


@dataclass(frozen=True)
class Expanded:
    """A grok expression expanded and translated to Python syntax."""

    source: str  # the expression as written
    pattern: str  # Python regex text
    captures: tuple[Capture, ...]
    needs_regex_module: bool
    used: tuple[str, ...]  # pattern names referenced, outermost first


class _Expander:
    def __init__(self, library: PatternLibrary, named_captures_only: bool) -> None:
        self.library = library
        self.named_captures_only = named_captures_only
        self.markers: dict[str, tuple[str, str | None]] = {}
        self.used: list[str] = []

    def expand(self, text: str, stack: tuple[str, ...]) -> str:
        if len(stack) > _MAX_DEPTH:
            raise GrokError(f"grok pattern nesting deeper than {_MAX_DEPTH}: {' -> '.join(stack[:8])} ...")
        out: list[str] = []
        pos = 0
        for ref in _REFERENCE.finditer(text):
            out.append(text[pos:ref.start()])
            pos = ref.end()
            name, semantic, kind = ref.group(1), ref.group(2), ref.group(3)
            definition = self.library.get(name)
            if definition is None:
                where = ""
                if stack:
                    parent = self.library.get(stack[-1])
                    where = f" (used by {stack[-1]}" + (f" at {parent.source})" if parent else ")")
                raise GrokError(f"unknown grok pattern %{{{name}}}{where}")
            if name in stack:
                raise GrokError(f"grok pattern {name} refers to itself: {' -> '.join((*stack, name))} "
                                f"({definition.source})")
            if kind and kind not in TYPES:
                raise GrokError(f"grok type {kind!r} in {ref.group()} is not supported (use int or float)")
            self.used.append(name)
            body = self.expand(definition.regex, (*stack, name))
            field = semantic or (None if self.named_captures_only else name)
            if field:
                marker = f"grok{len(self.markers)}marker"
                self.markers[marker] = (field, kind or None)
                out.append(f"(?<{marker}>{body})")
            else:
                out.append(f"(?:{body})")
        out.append(text[pos:])
        return "".join(out)


def expand(expression: str, library: PatternLibrary, *, named_captures_only: bool = True) -> Expanded:
    """Expand and translate ``expression``; GrokError naming the culprit on failure."""
    expander = _Expander(library, named_captures_only)
    onig = expander.expand(expression, ())
    try:
        result = translate(onig, expander.markers)
    except TranslateError as exc:
        raise _blame(expression, library, expander.used, str(exc)) from exc
    return Expanded(expression, result.pattern, tuple(result.captures), result.needs_regex_module,
                    tuple(expander.used))


def _blame(expression: str, library: PatternLibrary, used: list[str], problem: str) -> GrokError:
    """Find which referenced definition is broken on its own, to report its file:line."""
    # Children are listed after their parent: checking in reverse finds the innermost broken one.
    for name in reversed(list(dict.fromkeys(used))):
        definition = library.get(name)
        if definition is None:
            continue
        try:
            onig = _Expander(library, True).expand(definition.regex, (name,))
            checked = translate(onig)
            compile_check(checked.pattern, checked.needs_regex_module)
        except GrokError:
            continue
        except (re.error, TranslateError, ValueError) as exc:
            return GrokError(f"grok pattern {name} ({definition.source}) does not compile: {exc}")
    return GrokError(f"grok expression {expression!r} does not compile: {problem}")


def compile_check(pattern: str, needs_regex_module: bool) -> None:
    """Raise re.error / regex.error if the translated pattern is invalid."""
    if needs_regex_module:
        import regex

        regex.compile(pattern, regex.V0)
    else:
        re.compile(pattern)


def blame_compile_error(expanded: Expanded, library: PatternLibrary, exc: Exception) -> GrokError:
    """A GrokError for a translated expression the regex engine rejected."""
    return _blame(expanded.source, library, list(expanded.used), str(exc))
