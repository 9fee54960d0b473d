"""Equivalent, faster text for ``re``: a lazy wildcard right before a delimiter scans in C.

``%{DATA}`` is ``.*?``. Before a literal delimiter, as in ``"%{DATA:agent}"``, ``re`` runs the rest
of the pattern at every character (move one, try the closing quote, fail, move one...): half of the
search time of an ECS Apache line. With dot-all, ``.*?"`` tries exactly the positions of the
following ``"``, first to last, so

    .*?"   ≡   [^"]*+(?:"[^"]*+)*?"

(the possessive run jumps to the first ``"``; each lazy iteration to the next one): the same
candidate positions in the same order, hence the same match and the same groups, found by
``re``'s single-character loop instead.

The rewrite is made only where that holds for certain: ``.*?`` followed by nothing but closing
plain or capturing groups (no quantifier on them) and then one unquantified punctuation literal,
in a pattern without inline flags (so dot-all, case-sensitive). Anything else is left as is.
"""

from __future__ import annotations

import re

# Punctuation that is the same character whatever the flags (no case, not a metacharacter when
# escaped or, for these, bare outside a class).
_DELIMITERS = frozenset("\"',;:/=@%&!~<>]#- ")
_ESCAPED_DELIMITERS = frozenset("\"',;:/=@%&!~<>[](){}|.*+?^$#- ")
_QUANTIFIERS = "*+?{"
_PLAIN, _OTHER = "plain", "other"


def speed_up(pattern: str) -> str:
    """``pattern`` with every provably equivalent ``.*?`` + delimiter rewritten (see the module)."""
    bare = _bare_offsets(pattern)
    groups = None if bare is None else _group_kinds(pattern, bare)
    if bare is None or groups is None:
        return pattern
    out: list[str] = []
    last = 0
    for start in _lazy_wildcards(pattern, bare):
        delimiter = _delimiter_after(pattern, start + 3, groups)
        if delimiter is None:
            continue
        escaped = re.escape(delimiter)
        out.append(pattern[last:start])
        out.append(f"[^{escaped}]*+(?:{escaped}[^{escaped}]*+)*?")
        last = start + 3
    if not out:
        return pattern
    out.append(pattern[last:])
    return "".join(out)


def _bare_offsets(pattern: str) -> list[int] | None:
    """Offsets of the characters outside escapes and character classes; None if a class is unterminated."""
    found: list[int] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            i += 2
        elif ch == "[":
            i = _class_end(pattern, i)
            if i < 0:
                return None
        else:
            found.append(i)
            i += 1
    return found


def _group_kinds(pattern: str, bare: list[int]) -> dict[int, str] | None:
    """Offset of each ``)`` → the kind of group it closes; None if the pattern has inline flags or
    anything this scanner does not follow (then nothing is rewritten)."""
    closes: dict[int, str] = {}
    stack: list[str] = []
    for i in bare:
        ch = pattern[i]
        if ch == "(":
            if pattern.startswith("(?:", i) or pattern.startswith("(?P<", i):
                stack.append(_PLAIN)
            elif not pattern.startswith("(?", i):
                stack.append(_PLAIN)  # a numbered capture
            elif pattern.startswith(("(?=", "(?!", "(?<=", "(?<!", "(?>", "(?(", "(?P="), i):
                stack.append(_OTHER)
            else:
                return None  # inline flags, comments, anything else: leave the pattern alone
        elif ch == ")":
            if not stack:
                return None
            closes[i] = stack.pop()
    return closes if not stack else None


def _class_end(pattern: str, i: int) -> int:
    """The offset after the character class opening at ``i`` (-1 if unterminated)."""
    j = i + 1
    if pattern.startswith("^", j):
        j += 1
    if pattern.startswith("]", j):
        j += 1  # a leading ] is a literal
    while j < len(pattern):
        if pattern[j] == "\\":
            j += 2
            continue
        if pattern[j] == "]":
            return j + 1
        j += 1
    return -1


def _lazy_wildcards(pattern: str, bare: list[int]) -> list[int]:
    """Offsets of the ``.*?`` tokens outside classes and escapes (not followed by ``+`` or ``?``)."""
    found: list[int] = []
    after = -1  # the end of the last token found: its ``*?`` is not a new start
    for i in bare:
        if i >= after and pattern[i] == "." and pattern.startswith("*?", i + 1) \
                and not pattern.startswith(("+", "?"), i + 3):
            found.append(i)
            after = i + 3
    return found


def _delimiter_after(pattern: str, j: int, groups: dict[int, str]) -> str | None:
    """The delimiter that must come right after the wildcard ending at ``j``, or None."""
    while j < len(pattern) and pattern[j] == ")":
        if groups.get(j) != _PLAIN or pattern.startswith(tuple(_QUANTIFIERS), j + 1):
            return None
        j += 1
    if j >= len(pattern):
        return None
    if pattern[j] == "\\":
        char, end = pattern[j + 1:j + 2], j + 2
        if char not in _ESCAPED_DELIMITERS or not char:
            return None
    else:
        char, end = pattern[j], j + 1
        if char not in _DELIMITERS:
            return None
    if pattern.startswith(tuple(_QUANTIFIERS), end):
        return None
    return char
