"""Ruby (Onigmo) regular expressions translated for Python's ``re``, once per expression.

One translator serves every place a Logstash config holds a Ruby regex: grok expressions
(:mod:`pipeline.grok`), conditionals ``=~ /.../``, mutate gsub, kv and prune patterns.
The differences that matter in practice are rewritten:

* named groups ``(?<name>...)`` / ``(?'name'...)``: grok renames every group to ``g<N>``
  and gets the list of (group, field, type) captures; plain regexes keep names Python
  accepts (``[a][b]``, ``a.b``, ``@x`` and repeated names are renamed);
* ``\\h``/``\\H`` (hex digit), ``\\z``/``\\Z``, ``\\e``, ``\\x{HHHH}``, ``\\k<name>``;
* POSIX bracket classes ``[[:alnum:]]`` (also negated ``[[:^digit:]]``);
* inline options anywhere: Ruby's ``m`` is Python's ``s`` (dot matches newline), and an
  option switch ``(?m)`` after the start, or in the middle of a group, applies to the end
  of that group, which Python only accepts as a scoped group ``(?s:...)``;
* nested repeats such as ``\\S+*`` or ``a{2}{3}`` (Onigmo repeats the repeat; Python
  refuses "multiple repeat"): the inner repeat is wrapped in ``(?:...)``; ``a++``,
  ``a*+``, ``a?+`` stay possessive as in Ruby;
* ``\\p{...}``, ``\\R``, ``\\X`` have no ``re`` equivalent: they are kept and the
  expression is flagged for the ``regex`` module.

Ruby's gsub replacement strings (``\\0 \\1 \\k<name>``) are translated by :func:`replacement`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


class TranslateError(re.error, ValueError):
    """The expression uses syntax we cannot translate, or is invalid (message says what).

    An ``re.error``, so callers compiling patterns handle both in one place."""


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
    start: int = 0  # index in the output where the group opened (its atom start once closed)
    extra_closes: int = 0


_QUANTIFIER = re.compile(r"[*+?]|\{\d*,?\d*\}")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def translate(text: str, markers: dict[str, tuple[str, str | None]] | None = None, *,
              keep_names: bool = False) -> Translated:
    """Translate ``text``; ``markers`` maps placeholder group names to (field, type).

    Grok (the default) renames every named group to ``g<N>``; ``keep_names`` keeps each name
    Python accepts, for plain regexes whose groups a replacement may refer to."""
    markers = markers or {}
    out: list[str] = []
    captures: list[Capture] = []
    by_field: dict[str, str] = {}
    stack: list[_Frame] = [_Frame()]
    needs_regex = False
    atom = -1  # index in ``out`` where the last atom starts (-1: nothing to repeat)
    repeated = ""  # the quantifier just written after that atom, if any
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        quantifier = _QUANTIFIER.match(text, i) if atom >= 0 else None
        if quantifier is not None and (ch != "{" or quantifier.group() not in ("{}", "{,}")):
            q = quantifier.group()
            if repeated not in ("", "done") and (q == "?" or (q == "+" and repeated in "*+?")):
                out.append(q)  # lazy a*? or possessive a*+ (both Python 3.11 syntax)
                repeated = "done"
            elif repeated:
                out.insert(atom, "(?:")  # a nested repeat: Onigmo repeats the repeat
                out.append(")" + (q.replace("{,", "{0,")))
                repeated = q
            else:
                out.append(q.replace("{,", "{0,"))
                repeated = q
            i = quantifier.end()
            continue
        repeated = ""
        if ch == "\\":
            atom = len(out)
            piece, i, special = _escape(text, i, in_class=False, by_field=by_field)
            needs_regex |= special
            out.append(piece)
            if text[i - 1] in "AzZbBG" and text[i - 2] == "\\":
                atom = -1  # anchors are not repeatable
            continue
        if ch == "[":
            atom = len(out)
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
                field_name, kind = markers.get(name, (name, None))
                group = f"g{len(captures)}"
                if keep_names and _IDENTIFIER.fullmatch(name) and name not in by_field:
                    group = name
                captures.append(Capture(group, field_name, kind))
                by_field.setdefault(field_name, group)
                stack.append(_Frame(len(out)))
                out.append(f"(?P<{group}>")
                i = end + 1
                atom = -1
                continue
            flags = re.compile(r"\(\?([imx]*)(?:-([imx]*))?([:)])").match(text, i)
            if flags is not None and (flags.group(1) or flags.group(2) or flags.group(3) == ")"):
                on = "".join(_RUBY_TO_PYTHON_FLAGS[f] for f in flags.group(1))
                off = "".join(_RUBY_TO_PYTHON_FLAGS[f] for f in (flags.group(2) or ""))
                spec = on + (f"-{off}" if off else "")
                if flags.group(3) == ":":
                    stack.append(_Frame(len(out)))
                    out.append(f"(?{spec}:" if spec else "(?:")
                elif spec:
                    # An option switch lasts to the end of the enclosing group.
                    out.append(f"(?{spec}:")
                    stack[-1].extra_closes += 1
                i = flags.end()
                atom = -1
                continue
            if text.startswith("(?", i) and not text.startswith(("(?:", "(?=", "(?!", "(?<=", "(?<!", "(?>"), i):
                raise TranslateError(f"unsupported group syntax {text[i:i + 4]!r} at offset {i}")
            stack.append(_Frame(len(out)))
            out.append("(")
            i += 1
            atom = -1
            continue
        if ch == ")":
            if len(stack) == 1:
                raise TranslateError(f"unbalanced ')' at offset {i}")
            frame = stack.pop()
            out.append(")" * frame.extra_closes + ")")
            atom = frame.start
            i += 1
            continue
        atom = -1 if ch in "^$|" else len(out)
        out.append(ch)
        i += 1
    if len(stack) != 1:
        raise TranslateError("missing ')'")
    out.append(")" * stack[0].extra_closes)
    return Translated("".join(out), captures, needs_regex)


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
            end = text.find(":]", j + 2)
            close = text.find("]", j + 2)
            # Onigmo reads [: as a POSIX bracket only when :] comes before the next ]; else [ opens a nested set.
            if text.startswith("[:", j) and end != -1 and end < close:
                name = text[j + 2:end]
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


def to_python(pattern: str) -> str:
    """The Python ``re`` form of a plain Ruby regex (group names kept where Python allows)."""
    return translate(pattern, keep_names=True).pattern


def compile_ruby(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile a Ruby-style regex; ``re.error`` (naming the original pattern) when invalid.

    Ruby's ``^``/``$`` are line anchors, so the pattern is compiled multi-line, as Ruby
    matches it. The standard ``re`` module is tried first (fastest); constructs it lacks but Onigmo
    has, like ``\\p{L}`` Unicode properties, fall back to the ``regex`` module, whose
    pattern objects have the same API.
    """
    try:
        translated = to_python(pattern)
    except TranslateError as exc:
        raise re.error(f"invalid regular expression {pattern!r}: {exc}") from None
    flags |= re.MULTILINE  # Ruby's ^ and $ always match at line starts and ends (\A, \z are the text's)
    try:
        return re.compile(translated, flags)
    except re.error as exc:
        import regex  # imported only for the few patterns ``re`` rejects (~7 ms of start-up)

        try:
            return regex.compile(translated, flags | regex.VERSION0)  # type: ignore[no-any-return]
        except regex.error:
            raise re.error(f"invalid regular expression {pattern!r}: {exc.msg}") from None


_REPL_TOKEN = re.compile(r"\\(\d|k<(\w+)>|&|\\|.)", re.DOTALL)


def replacement(template: str) -> str | Callable[[re.Match[str]], str]:
    """A ``re.sub`` replacement for a Ruby gsub replacement string.

    Ruby reads ``\\0``/``\\&`` as the whole match, ``\\1``..``\\9`` as groups,
    ``\\k<name>`` as a named group and ``\\\\`` as one backslash; any other
    character after a backslash stays as written.
    """
    if "\\" not in template:
        return template  # nothing for re to interpret either
    parts: list[tuple[bool, str | int]] = []  # (is_group, literal text or group id)
    pos = 0
    for match in _REPL_TOKEN.finditer(template):
        if match.start() > pos:
            parts.append((False, template[pos:match.start()]))
        token = match.group(1)
        if token.isdigit():
            parts.append((True, int(token)))
        elif token == "&":
            parts.append((True, 0))
        elif match.group(2):
            parts.append((True, match.group(2)))
        elif token == "\\":
            parts.append((False, "\\"))
        else:
            parts.append((False, match.group(0)))
        pos = match.end()
    if pos < len(template):
        parts.append((False, template[pos:]))

    def expand(m: re.Match[str]) -> str:
        out: list[str] = []
        for is_group, value in parts:
            if not is_group:
                out.append(str(value))
                continue
            try:
                out.append(m.group(value) or "")
            except IndexError:  # Ruby leaves a reference to a missing group empty
                out.append("")
        return "".join(out)

    return expand
