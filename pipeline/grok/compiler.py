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
from pipeline.grok.library import PatternDef, PatternLibrary
from pipeline.grok.translate import Capture, TranslateError, translate

# A reference as Logstash's grok engine (jls-grok) reads it: ``%{NAME}``, ``%{NAME:field}``,
# ``%{NAME:field:type}``, ``%{NAME=inline regex}``; anything else before the closing brace is ignored
# (``%{NAGIOSLOGLINE - CURRENT HOST STATE}`` is ``%{NAGIOSLOGLINE}``). [A-z] is Ruby's range: it
# includes [ \ ] ^ _ ` as jls-grok's does.
_REFERENCE = re.compile(r"%\{(?P<pattern>[A-z0-9]+)(?::(?P<subname>[@\[\]A-z0-9_:.-]+))?")
_OPENING = "%{"
TYPES = ("int", "float")  # the conversions Logstash applies; any other type word is ignored, as there
_MAX_DEPTH = 64


class GrokError(ConfigError):
    """A grok expression or pattern definition that cannot be compiled (names which one and where)."""


@dataclass(frozen=True)
class Reference:
    """One ``%{...}`` in an expression."""

    start: int
    end: int
    pattern: str
    field: str | None  # None: no semantic (captured under the pattern name only without named_captures_only)
    kind: str | None  # "int", "float" or None (other type words convert nothing, as in Logstash)
    definition: str | None  # the inline ``%{NAME=regex}`` definition
    ignored_type: str | None = None  # a type word other than int/float (``%{IPV4:ip:string}``)


def references(text: str) -> list[Reference]:
    """Every ``%{...}`` of ``text`` in order; GrokError for one that can never be a reference."""
    found: list[Reference] = []
    pos = 0
    while True:
        start = text.find(_OPENING, pos)
        if start == -1:
            return found
        head = _REFERENCE.match(text, start)
        if head is None:
            raise GrokError(f"malformed grok reference at offset {start} of {text!r}: expected %{{NAME}}, "
                            f"%{{NAME:field}} or %{{NAME:field:int}} (write %\\{{ for a literal '%{{')")
        i = head.end()
        definition = None
        if text.startswith("=", i):
            i, definition = _inline_definition(text, i + 1)
        close = text.find("}", i)
        if close == -1:
            raise GrokError(f"unterminated grok reference at offset {start} of {text!r}: missing '}}'")
        parts = (head.group("subname") or "").split(":")
        field = parts[0] or None
        kind = parts[1] if len(parts) > 1 and parts[1] in TYPES else None
        ignored = parts[1] if len(parts) > 1 and parts[1] and kind is None else None
        found.append(Reference(start, close + 1, head.group("pattern"), field, kind, definition, ignored))
        pos = close + 1


def _inline_definition(text: str, i: int) -> tuple[int, str]:
    """The regex of ``%{NAME=regex}`` starting at ``i``: up to the brace closing the reference
    (escaped characters and balanced ``{...}`` such as ``\\d{2}`` stay inside)."""
    depth = 0
    j = i
    while j < len(text):
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                return j, text[i:j]
            depth -= 1
        j += 1
    raise GrokError(f"unterminated inline grok definition in {text!r}")


@dataclass(frozen=True)
class Expanded:
    """A grok expression expanded and translated to Python syntax."""

    source: str  # the expression as written
    pattern: str  # Python regex text
    captures: tuple[Capture, ...]
    needs_regex_module: bool
    used: tuple[str, ...]  # pattern names referenced, outermost first
    ignored_types: tuple[str, ...] = ()  # references of the expression whose :type converts nothing


class _Expander:
    def __init__(self, library: PatternLibrary, named_captures_only: bool) -> None:
        self.library = library
        self.named_captures_only = named_captures_only
        self.markers: dict[str, tuple[str, str | None]] = {}
        self.used: list[str] = []
        self.inline: dict[str, PatternDef] = {}  # %{NAME=regex}: defined for the rest of this expression
        self.ignored_types: list[str] = []

    def definition(self, name: str) -> PatternDef | None:
        return self.inline.get(name) or self.library.get(name)

    def hint(self, name: str) -> str:
        """' (did you mean %{X}?)' for the closest known name (case slips first: %{ip} -> %{IP})."""
        names = [*self.library.names(), *self.inline]
        upper = [n for n in names if n.upper() == name.upper()]
        if upper:
            close = upper
        else:
            import difflib  # only for this hint: ~0.5 ms of every start-up otherwise

            close = difflib.get_close_matches(name.upper(), names, n=1, cutoff=0.7)
        return f" (did you mean %{{{close[0]}}}?)" if close else ""

    def expand(self, text: str, stack: tuple[str, ...]) -> str:
        if len(stack) > _MAX_DEPTH:
            raise GrokError(f"grok pattern nesting deeper than {_MAX_DEPTH}: {' -> '.join(stack[:8])} ...")
        out: list[str] = []
        pos = 0
        for ref in references(text):
            out.append(text[pos:ref.start])
            pos = ref.end
            name = ref.pattern
            if ref.definition is not None:
                self.inline[name] = PatternDef(name, ref.definition, f"inline in {text!r}")
            definition = self.definition(name)
            if definition is None:
                where = ""
                if stack:
                    parent = self.definition(stack[-1])
                    where = f" (used by {stack[-1]}" + (f" at {parent.source})" if parent else ")")
                raise GrokError(f"unknown grok pattern %{{{name}}}{where}{self.hint(name)}")
            if name in stack:
                raise GrokError(f"grok pattern {name} refers to itself: {' -> '.join((*stack, name))} "
                                f"({definition.source})")
            self.used.append(name)
            if ref.ignored_type:
                self.ignored_types.append(text[ref.start:ref.end])
            body = self.expand(definition.regex, (*stack, name))
            field = ref.field or (None if self.named_captures_only else name)
            if field:
                marker = f"grok{len(self.markers)}marker"
                self.markers[marker] = (field, ref.kind)
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
                    tuple(expander.used), tuple(expander.ignored_types))


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
