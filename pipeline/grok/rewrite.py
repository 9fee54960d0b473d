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

import _sre
import re
from typing import Any

try:  # Python 3.11+
    from re import _compiler as sre_compile  # type: ignore[attr-defined]
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older Pythons
    import sre_compile  # type: ignore[no-redef]
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

# Punctuation that is the same character whatever the flags (no case, not a metacharacter when
# escaped or, for these, bare outside a class).
_DELIMITERS = frozenset("\"',;:/=@%&!~<>]#- ")
_ESCAPED_DELIMITERS = frozenset("\"',;:/=@%&!~<>[](){}|.*+?^$#- ")
_QUANTIFIERS = "*+?{"
_PLAIN, _OTHER = "plain", "other"
# Nodes holding a sub-sequence as their last argument: groups, repeats, lookarounds.
_NESTING = (sre_constants.SUBPATTERN, sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT,
            sre_constants.POSSESSIVE_REPEAT, sre_constants.ASSERT, sre_constants.ASSERT_NOT)


def speed_up(pattern: str) -> str:
    """``pattern`` with every provably equivalent ``.*?`` + delimiter rewritten (see the module)."""
    return _rewritten(pattern, _plan(pattern)[1])


def _plan(pattern: str) -> tuple[list[int], dict[int, str]]:
    """The offsets of every ``.*?`` token, and of those rewritten their delimiter."""
    bare = _bare_offsets(pattern)
    groups = None if bare is None else _group_kinds(pattern, bare)
    if bare is None or groups is None:
        return [], {}
    tokens = _lazy_wildcards(pattern, bare)
    rewrites = {}
    for start in tokens:
        delimiter = _delimiter_after(pattern, start + 3, groups)
        if delimiter is not None:
            rewrites[start] = delimiter
    return tokens, rewrites


def _replacement(delimiter: str) -> str:
    escaped = re.escape(delimiter)
    return f"[^{escaped}]*+(?:{escaped}[^{escaped}]*+)*?"


def _rewritten(pattern: str, rewrites: dict[int, str]) -> str:
    if not rewrites:
        return pattern
    out: list[str] = []
    last = 0
    for start, delimiter in rewrites.items():
        out.append(pattern[last:start])
        out.append(_replacement(delimiter))
        last = start + 3
    out.append(pattern[last:])
    return "".join(out)


def compile_parsed(pattern: str, tree: Any, flags: int) -> re.Pattern[str]:
    """``re.compile(speed_up(pattern), flags)`` from ``tree``, ``pattern`` parsed already (for the guard,
    which reads it first): the rewrite is made on the tree, so the expression is parsed once.

    The k-th ``.*?`` of the text is the k-th lazy any-character repeat of the tree (the tree keeps the
    text's order); when the counts differ (``(?:.)*?`` parses to the same node) the rewritten text is
    compiled instead. ``tree`` is changed in place.
    """
    tokens, rewrites = _plan(pattern)
    text = _rewritten(pattern, rewrites)
    if rewrites:
        sites = _lazy_any_repeats(tree)
        if len(sites) != len(tokens):
            return re.compile(text, flags)
        # last first: a splice shifts the positions after it in the same sequence
        for start, (sequence, position) in reversed(list(zip(tokens, sites, strict=True))):
            delimiter = rewrites.get(start)
            if delimiter is not None:
                sequence.data[position:position + 1] = list(sre_parse.parse(_replacement(delimiter), flags))
    try:
        code = sre_compile._code(tree, flags)
        state = tree.state
        indexgroup = [None] * state.groups
        for name, index in state.groupdict.items():
            indexgroup[index] = name
        return _sre.compile(text, flags | state.flags, code, state.groups - 1, state.groupdict,  # type: ignore[no-any-return]
                            tuple(indexgroup))
    except (AttributeError, TypeError):  # another Python's re internals: compile the text (a second parse)
        return re.compile(text, flags)


def _lazy_any_repeats(tree: Any) -> list[tuple[Any, int]]:
    """(sequence, position) of every ``.*?`` node (lazy repeat of any character, 0 to unbounded), in
    text order: depth first, a nested sequence visited where it stands."""
    found: list[tuple[Any, int]] = []
    stack = [(tree, iter(enumerate(tree.data)))]  # sequences being read; the innermost last
    while stack:
        sequence, items = stack[-1]
        for position, (op, av) in items:
            if op is sre_constants.MIN_REPEAT and av[0] == 0 and av[1] == sre_constants.MAXREPEAT \
                    and len(av[2].data) == 1 and av[2].data[0] == (sre_constants.ANY, None):
                found.append((sequence, position))
                continue
            if op is sre_constants.BRANCH:
                nested = list(av[1])
            elif op is sre_constants.GROUPREF_EXISTS:
                nested = [branch for branch in av[1:] if branch is not None]
            elif op is sre_constants.ATOMIC_GROUP:
                nested = [av]
            elif op in _NESTING:
                nested = [av[-1]]
            else:
                continue
            # the nested sequences first (in order), then the rest of this one
            stack.extend((child, iter(enumerate(child.data))) for child in reversed(nested))
            break
        else:
            stack.pop()
    return found


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
