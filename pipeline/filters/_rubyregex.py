"""Ruby/Oniguruma regular expressions and gsub replacements, translated for Python's ``re``.

Logstash configs (mutate gsub, kv patterns, translate regex) are written for
Ruby's regex dialect. The common differences are translated once at load
time: ``(?<name>...)`` named groups, ``\\h`` hex digits, ``\\z``/``\\Z``
anchors, POSIX bracket classes, and Ruby's ``\\0 \\1 \\k<name>`` replacement
back-references.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import regex

_POSIX_CLASSES = {
    "alnum": r"a-zA-Z0-9", "alpha": r"a-zA-Z", "blank": r" \t", "cntrl": r"\x00-\x1f\x7f",
    "digit": r"0-9", "graph": r"\x21-\x7e", "lower": r"a-z", "print": r"\x20-\x7e",
    "punct": r"!-/:-@\[-`{-~", "space": r" \t\r\n\v\f", "upper": r"A-Z", "word": r"\w",
    "xdigit": r"0-9A-Fa-f",
}


def translate(pattern: str) -> str:
    """Rewrite the Ruby-only constructs of ``pattern`` into Python ``re`` syntax."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "h":
                out.append("0-9a-fA-F" if in_class else "[0-9a-fA-F]")
            elif nxt == "H" and not in_class:
                out.append("[^0-9a-fA-F]")
            elif nxt == "z" and not in_class:
                out.append(r"\Z")
            elif nxt == "Z" and not in_class:
                out.append(r"(?=\n?\Z)")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                name = pattern[i + 2:end] if end != -1 else ""
                negated = name.startswith("^")
                body = _POSIX_CLASSES.get(name.lstrip("^"))
                if body is not None and not negated:
                    out.append(body)
                    i = end + 2
                    continue
            if ch == "]":
                in_class = False
            elif ch == "[":
                out.append("\\[")
                i += 1
                continue
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":  # a leading ] is literal
                out.append("\\]")
                i += 1
            continue
        if pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def compile_ruby(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile a Ruby-style regex; ``re.error`` (with the original pattern) when invalid.

    The standard ``re`` module is tried first (fastest); constructs it lacks but
    Oniguruma has, like ``\\p{L}`` Unicode properties, fall back to the ``regex``
    module, whose pattern objects have the same API.
    """
    translated = translate(pattern)
    try:
        return re.compile(translated, flags)
    except re.error as exc:
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
