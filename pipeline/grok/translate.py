"""Oniguruma (Ruby) regex syntax → Python ``re`` syntax, done once per expression.

Grok expressions are written for Logstash's Ruby regex engine. The differences
that matter in practice are rewritten here:

* named groups ``(?<name>...)`` / ``(?'name'...)``: every name (including
  ``[a][b]``, ``a.b``, ``@x``, which Python rejects) becomes ``g<N>``; the caller
  gets the list of (group, field, type) captures in order;
* ``\\h``/``\\H`` (hex digit), ``\\z``/``\\Z``, ``\\e``, ``\\x{HHHH}``, ``\\k<name>``;
* POSIX bracket classes ``[[:alnum:]]`` (also negated ``[[:^digit:]]``);
* inline options: Ruby's ``m`` is Python's ``s`` (dot matches newline), and an
  option switch ``(?i)`` in the middle of a group applies to the end of that
  group, which Python only accepts as a scoped group ``(?i:...)``;
* ``\\p{...}``, ``\\R``, ``\\X`` have no ``re`` equivalent: they are kept and the
  expression is flagged for the ``regex`` module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# ASCII classes; Ruby's \w \d \s are ASCII-only, its POSIX classes also accept
# letters beyond ASCII (approximated by everything from U+00C0 up).
_NON_ASCII_LETTERS = "\u00c0-\U0010ffff"
POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9" + _NON_ASCII_LETTERS,
    "alpha": "a-zA-Z" + _NON_ASCII_LETTERS,
    "ascii": "\\x00-\\x7f",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "\\x21-\\x7e" + _NON_ASCII_LETTERS,
    "lower": "a-z",
    "print": "\\x20-\\x7e" + _NON_ASCII_LETTERS,
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\r\\n\\v\\f",
    "upper": "A-Z",
    "word": "a-zA-Z0-9_" + _NON_ASCII_LETTERS,
    "xdigit": "0-9A-Fa-f",
}
_RUBY_TO_PYTHON_FLAGS = {"i": "i", "m": "s", "x": "x"}
_NAME = re.compile(r"[^>]+")
_NEGATED_POSIX = re.compile(r"\[\[:\^(\w+):\]\]")


class TranslateError(ValueError):
    """The expression uses syntax we cannot translate (message says what)."""


@dataclass
class Capture:
    """One named group of a compiled expression."""

    group: str  # the Python group name (g0, g1, ...)
    field: str  # the grok semantic / field reference text
    type: str | None = None  # "int", "float" or None


@dataclass
class Translated:
    pattern: str
    captures: list[Capture] = field(default_factory=list)
    needs_regex_module: bool = False


@dataclass
class _Frame:
    extra_closes: int = 0


def translate(text: str, markers: dict[str, tuple[str, str | None]] | None = None) -> Translated:
    """Translate ``text``; ``markers`` maps placeholder group names to (field, type)."""
    markers = markers or {}
    out: list[str] = []
    captures: list[Capture] = []
    by_field: dict[str, str] = {}
    stack: list[_Frame] = [_Frame()]
    needs_regex = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            piece, i, special = _escape(text, i, in_class=False, by_field=by_field)
            needs_regex |= special
            out.append(piece)
            continue
        if ch == "[":
            piece, i, special = _char_class(text, i)
            needs_regex |= special
            out.append(piece)
            continue
        if ch == "(":
            if text.startswith("(?#", i):  # comment group
                end = text.find(")", i)
                i = n if end == -1 else end + 1
                continue
            name_match = None
            if text.startswith("(?<", i) and i + 3 < n and text[i + 3] not in "=!":
                name_match = _NAME.match(text, i + 3)
                close = ">"
            elif text.startswith("(?P<", i):
                name_match = _NAME.match(text, i + 4)
                close = ">"
            elif text.startswith("(?'", i):
                name_match = re.compile(r"[^']+").match(text, i + 3)
                close = "'"
            if name_match is not None:
                end = name_match.end()
                if end >= n or text[end] != close:
                    raise TranslateError(f"unterminated group name at offset {i}")
                name = name_match.group()
                group = f"g{len(captures)}"
                field_name, kind = markers.get(name, (name, None))
                captures.append(Capture(group, field_name, kind))
                by_field.setdefault(field_name, group)
                out.append(f"(?P<{group}>")
                stack.append(_Frame())
                i = end + 1
                continue
            flags = re.compile(r"\(\?([imx]*)(?:-([imx]*))?([:)])").match(text, i)
            if flags is not None and (flags.group(1) or flags.group(2) or flags.group(3) == ")"):
                on = "".join(_RUBY_TO_PYTHON_FLAGS[f] for f in flags.group(1))
                off = "".join(_RUBY_TO_PYTHON_FLAGS[f] for f in (flags.group(2) or ""))
                spec = on + (f"-{off}" if off else "")
                if flags.group(3) == ":":
                    out.append(f"(?{spec}:" if spec else "(?:")
                    stack.append(_Frame())
                elif spec:
                    # An option switch lasts to the end of the enclosing group.
                    out.append(f"(?{spec}:")
                    stack[-1].extra_closes += 1
                i = flags.end()
                continue
            if text.startswith("(?", i) and not text.startswith(("(?:", "(?=", "(?!", "(?<=", "(?<!", "(?>"), i):
                raise TranslateError(f"unsupported group syntax {text[i:i + 4]!r} at offset {i}")
            out.append("(")
            stack.append(_Frame())
            i += 1
            continue
        if ch == ")":
            if len(stack) == 1:
                raise TranslateError(f"unbalanced ')' at offset {i}")
            frame = stack.pop()
            out.append(")" * frame.extra_closes + ")")
            i += 1
            continue
        if ch == "*" and out and out[-1] in "?*+" and _quantifier_before(text, i):
            # Onigmo reduces a repeated repeat (".?*" in Logstash's SHOREWALL) where Python refuses
            # ("multiple repeat"): x?* x** x+* are x*. (x*+ x?+ x++ are possessive in both.)
            out[-1] = "*"
            i += 1
            continue
        if ch == "{" and text.startswith("{,", i):  # Ruby {,n} = {0,n}
            out.append("{0,")
            i += 2
            continue
        out.append(ch)
        i += 1
    if len(stack) != 1:
        raise TranslateError("missing ')'")
    out.append(")" * stack[0].extra_closes)
    return Translated("".join(out), captures, needs_regex)


def _quantifier_before(text: str, i: int) -> bool:
    """Whether text[i - 1] is a quantifier (not an escaped character or the ? of a group opening)."""
    j = i - 1
    backslashes = 0
    while j - 1 - backslashes >= 0 and text[j - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 0 and not (text[j] == "?" and j > 0 and text[j - 1] == "(")


def _escape(text: str, i: int, *, in_class: bool, by_field: dict[str, str]) -> tuple[str, int, bool]:
    """Translate the escape at ``text[i]`` (a backslash); returns (piece, next index, needs regex)."""
    if i + 1 >= len(text):
        raise TranslateError("trailing backslash")
    nxt = text[i + 1]
    if nxt == "h":
        return ("0-9a-fA-F" if in_class else "[0-9a-fA-F]"), i + 2, False
    if nxt == "H":
        if in_class:
            raise TranslateError("\\H inside a character class is not supported")
        return "[^0-9a-fA-F]", i + 2, False
    if nxt == "e":
        return "\\x1b", i + 2, False
    if nxt == "x" and text.startswith("{", i + 2):
        end = text.find("}", i)
        code = int(text[i + 3:end], 16)
        return f"\\U{code:08x}", end + 1, False
    if not in_class:
        if nxt == "z":
            return "\\Z", i + 2, False
        if nxt == "Z":
            return "(?=\\n?\\Z)", i + 2, False
        if nxt == "G":
            return "", i + 2, False  # start of match: grok searches from the start anyway
        if nxt == "k" and text.startswith("<", i + 2):
            end = text.find(">", i)
            name = text[i + 3:end]
            if name not in by_field:
                raise TranslateError(f"back-reference \\k<{name}> to an unknown group")
            return f"(?P={by_field[name]})", end + 1, False
    if nxt in "pP" and text.startswith("{", i + 2):
        end = text.find("}", i)
        return text[i:end + 1], end + 1, True
    if nxt in "RX" and not in_class:
        return text[i:i + 2], i + 2, True
    return text[i:i + 2], i + 2, False


def _char_class(text: str, i: int) -> tuple[str, int, bool]:
    """Translate the bracket class starting at ``text[i] == '['``."""
    whole = _NEGATED_POSIX.match(text, i)
    if whole is not None and whole.group(1) in POSIX_CLASSES:  # [[:^digit:]]
        return f"[^{POSIX_CLASSES[whole.group(1)]}]", whole.end(), False
    out = ["["]
    needs_regex = False
    j = i + 1
    if text.startswith("^", j):
        out.append("^")
        j += 1
    if text.startswith("]", j):  # a leading ] is literal
        out.append("\\]")
        j += 1
    n = len(text)
    while j < n:
        ch = text[j]
        if ch == "]":
            return "".join(out) + "]", j + 1, needs_regex
        if ch == "\\":
            piece, j, special = _escape(text, j, in_class=True, by_field={})
            needs_regex |= special
            out.append(piece)
            continue
        if ch == "[":
            if text.startswith("[:", j):
                end = text.find(":]", j + 2)
                name = text[j + 2:end] if end != -1 else ""
                negated = name.startswith("^")
                body = POSIX_CLASSES.get(name.lstrip("^"))
                if body is None:
                    raise TranslateError(f"unknown POSIX class [:{name}:]")
                if negated:
                    raise TranslateError(f"negated POSIX class [:{name}:] inside a set is not supported")
                out.append(body)
                j = end + 2
                continue
            # A nested set [a[bc]] is a union in Ruby: splice its members in.
            nested, j, special = _char_class(text, j)
            if nested.startswith("[^"):
                raise TranslateError(f"negated nested character class at offset {j}")
            needs_regex |= special
            out.append(nested[1:-1])
            continue
        if ch == "&" and text.startswith("&&", j):
            raise TranslateError("character class intersection (&&) is not supported")
        out.append(ch)
        j += 1
    raise TranslateError(f"unterminated character class at offset {i}")
