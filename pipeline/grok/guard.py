"""Static backtracking-risk analysis of a compiled expression (the cheap guard).

Python's ``re`` is the fastest engine we have but cannot be interrupted; the
``regex`` module has a ``timeout`` but is slower. This module decides, once per
expression, how long a line may be before ``re`` could run longer than the
timeout, so that ``re`` is only used where its worst case is bounded.

The estimate: a greedy or lazy quantifier whose repeated characters can also
start what follows it is *ambiguous*: on a failing line the engine may retry
each of up to L split points (L = line length). With k ambiguous quantifiers in
sequence a failing search costs up to L^(k+1) steps (the +1 for the start
positions of the search). An ambiguous quantifier nested inside another
unbounded repetition is exponential (2^L). Quantifiers whose body cannot start
what follows (``[0-9]+\\.``), possessive ones and those inside atomic groups
with nothing after them are deterministic and cost nothing extra.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

try:  # Python 3.11+
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

_OTHER = 256  # one bit for every character above U+00FF
ALL = (1 << 257) - 1
_NEWLINE = 1 << 10
_MAXREPEAT = sre_constants.MAXREPEAT
_LARGE_RANGE = 8  # a bounded repeat with fewer choices than this is a constant factor
_SPACE_BIT = 1 << 32
_DELIMITER_CHARS = 3


def _bits(chars: range | list[int]) -> int:
    if type(chars) is range and chars.step == 1:  # a class range: its bits in one step
        if not chars:
            return 0
        low, high = min(chars.start, _OTHER), min(chars.stop - 1, _OTHER)
        return ((1 << (high - low + 1)) - 1) << low
    mask = 0
    for c in chars:
        mask |= 1 << min(c, _OTHER)
    return mask


_DIGIT = _bits(range(48, 58))
_WORD = _bits(list(range(48, 58)) + list(range(65, 91)) + list(range(97, 123)) + [95])
_SPACE = _bits([9, 10, 11, 12, 13, 32])
_CATEGORIES = {
    "CATEGORY_DIGIT": _DIGIT, "CATEGORY_NOT_DIGIT": ALL & ~_DIGIT,
    "CATEGORY_WORD": _WORD | (1 << _OTHER), "CATEGORY_NOT_WORD": ALL,
    "CATEGORY_SPACE": _SPACE | (1 << _OTHER), "CATEGORY_NOT_SPACE": ALL & ~_SPACE | (1 << _OTHER),
}


def _delimiters(overlap: int) -> str | None:
    """The characters of a small overlap (a delimiter such as ``"`` or ``,``), None if large."""
    if bin(overlap).count("1") > _DELIMITER_CHARS or overlap >> _OTHER:
        return None
    return "".join(chr(i) for i in range(_OTHER) if overlap >> i & 1)


@dataclass(frozen=True)
class Risk:
    """How bad a failing search can get.

    ``ambiguous``: quantifiers whose retries range over the whole line (factor L each);
    ``delimited``: for quantifiers that only overlap what follows on a few
    delimiter characters, those characters (factor 1 + their count in the line);
    ``exponential``: an ambiguous quantifier nested in an unbounded repetition.
    """

    ambiguous: int
    exponential: bool
    delimited: tuple[str, ...] = ()
    gates: tuple[str, ...] = ()  # per delimited entry: characters needed to reach it ("" = none)

    def safe_length(self, budget_steps: float) -> int:
        """The longest line that is safe whatever it contains (the cheap first check)."""
        if budget_steps <= 1:
            return 0
        if self.exponential:
            return int(math.log2(budget_steps))
        return int(budget_steps ** (1.0 / (self.ambiguous + len(self.delimited) + 2)))

    def __post_init__(self) -> None:
        # distinct (delimiters, gate) pairs with their multiplicity: each counted once per line
        gates = self.gates or ("",) * len(self.delimited)
        grouped = Counter(zip(self.delimited, gates, strict=True))
        # most repeated first: counting those first lets fits() stop early
        object.__setattr__(self, "_grouped", tuple(sorted(
            ((tuple(chars), gate, times) for (chars, gate), times in grouped.items()), key=lambda g: -g[2])))
        object.__setattr__(self, "_power", self.ambiguous + 2)
        object.__setattr__(self, "_delimited_power", len(self.delimited))

    def fits(self, text: str, budget_steps: float) -> bool:
        """Whether a failing search on this line stays within ``budget_steps`` (cheapest check first:
        every delimiter factor is first bounded by the line length, then counted only while needed)."""
        length = len(text) + 1
        if self.exponential:
            return length <= math.log2(budget_steps) if budget_steps > 1 else False
        bound = float(length) ** (self._power + self._delimited_power)  # type: ignore[attr-defined]
        if bound <= budget_steps:
            return True
        count = text.count
        for chars, gate, times in self._grouped:  # type: ignore[attr-defined]
            if gate and (gate not in text if len(gate) == 1 else not all(g in text for g in gate)):
                found = 1
            else:
                found = 1
                for char in chars:
                    found += count(char)
            bound = bound / length ** times * found ** times
            if bound <= budget_steps:
                return True
        return False

    def line_check(self, budget_steps: float) -> Callable[[str], bool]:
        """``fits(text, budget_steps)`` as code generated for this risk (the hot path's per-line test):
        the same bound, with the delimiter counts and gates unrolled."""
        if self.exponential or budget_steps <= 1:
            return lambda text: self.fits(text, budget_steps)
        power = self._power + self._delimited_power  # type: ignore[attr-defined]
        lines = ["def fits(text):", "    length = len(text) + 1",
                 f"    bound = float(length) ** {power}", f"    if bound <= {budget_steps!r}:", "        return True"]
        # First the entries whose gate the line lacks (one cheap ``in`` each: factor 1), then the
        # counts, most repeated first; stop as soon as the bound is within the budget.
        counted: list[tuple[str, str, int]] = []
        for number, (chars, gate, times) in enumerate(self._grouped):  # type: ignore[attr-defined]
            found = " + ".join(["1", *(f"count({c!r})" for c in chars)])
            factor = f"({found}) / length" if times == 1 else f"(({found}) / length) ** {times}"
            # a gate that is the delimiter itself needs no test: its count is then 0
            needed = [g for g in gate if g not in chars or len(chars) > 1]
            if needed:
                lines.append(f"    gate{number} = {' and '.join(f'{g!r} in text' for g in needed)}")
                lines.append(f"    if not gate{number}:")
                lines.append(f"        bound /= float(length) ** {times}")
                counted.append((f"gate{number}", factor, times))
            else:
                counted.append(("", factor, times))
        if any(gate for gate, _, _ in counted):
            lines.append(f"    if bound <= {budget_steps!r}:")
            lines.append("        return True")
        for gate, factor, _times in counted:
            if gate:
                lines.append(f"    if {gate}:")
                lines.append(f"        bound *= {factor}")
            else:
                lines.append(f"    bound *= {factor}")
            lines.append(f"    if bound <= {budget_steps!r}:")
            lines.append("        return True")
        lines.append("    return False")
        if self._grouped:  # type: ignore[attr-defined]
            lines.insert(1, "    count = text.count")
        namespace: dict[str, Any] = {}
        exec(compile("\n".join(lines) + "\n", "<grok line check>", "exec"), namespace)  # repr()'d characters only
        check: Callable[[str], bool] = namespace["fits"]
        return check

    def worst_steps(self, text: str) -> float:
        """Estimated worst-case steps of a failing search on this very line (a few str.count calls)."""
        length = len(text) + 1
        if self.exponential:
            return 2.0 ** min(length, 1000)
        steps = length ** self._power  # type: ignore[attr-defined]  # start positions x final scan x wide ones
        count = text.count
        for chars, gate, times in self._grouped:  # type: ignore[attr-defined]
            if gate and (gate not in text if len(gate) == 1 else not all(g in text for g in gate)):
                continue  # the line lacks a character needed to get there: no retries
            found = 1
            for char in chars:
                found += count(char)
            steps *= found if times == 1 else found ** times
        return float(steps)


class _Walker:
    def __init__(self, fold_case: bool) -> None:
        self.fold_case = fold_case
        self.ambiguous = 0
        self.exponential = False
        self.delimited: list[str] = []
        self.gates: list[str] = []  # per delimited entry: characters the line must contain to reach it
        self.gate = ""
        self.dotall = False  # the pattern's flags: '.' takes line breaks too
        # first() of the tree's own sequences, which the walk asks for again and again (per element
        # walked, of what follows it); keyed by identity, so only for the tree's objects, alive all along
        self._firsts: dict[int, tuple[int, bool]] = {}

    # -- first sets ---------------------------------------------------------
    def _fold(self, mask: int) -> int:
        if not self.fold_case:
            return mask
        upper = (mask >> 65) & ((1 << 26) - 1)
        lower = (mask >> 97) & ((1 << 26) - 1)
        return mask | (lower << 65) | (upper << 97)

    def _set(self, op: str, arg: Any) -> int:
        if op == "LITERAL":
            return self._fold(1 << min(int(arg), _OTHER))  # type: ignore[call-overload]
        if op == "NOT_LITERAL":
            return ALL & ~(1 << min(int(arg), _OTHER)) | (1 << _OTHER)  # type: ignore[call-overload]
        if op == "ANY":
            return ALL if arg else ALL & ~_NEWLINE  # arg is truthy with DOTALL
        # IN
        mask, negate = 0, False
        for item_op, item_arg in arg:  # type: ignore[attr-defined]
            name = item_op.name
            if name == "NEGATE":
                negate = True
            elif name == "LITERAL":
                mask |= 1 << min(item_arg, _OTHER)
            elif name == "RANGE":
                lo, hi = item_arg
                mask |= _bits(range(min(lo, _OTHER), min(hi, _OTHER) + 1))
            elif name == "CATEGORY":
                mask |= _CATEGORIES.get(item_arg.name, ALL)
            else:
                mask = ALL
        mask = self._fold(mask)
        return (ALL & ~mask | (1 << _OTHER)) if negate else mask

    def first(self, seq: list) -> tuple[int, bool]:
        """(first-character set, can match empty) of a sequence."""
        if type(seq) is sre_parse.SubPattern:
            known = self._firsts.get(id(seq))
            if known is None:
                known = self._firsts[id(seq)] = self._first(seq)
            return known
        return self._first(seq)

    def _first(self, seq: list) -> tuple[int, bool]:
        mask = 0
        for op, arg in _items(seq):
            node_first, nullable = self._first_node(op.name, arg)
            mask |= node_first
            if not nullable:
                return mask, False
        return mask, True

    def _first_node(self, op: str, arg: Any) -> tuple[int, bool]:
        if op in ("LITERAL", "NOT_LITERAL", "ANY", "IN"):
            return self._set(op, arg), False
        if op in ("AT", "ASSERT", "ASSERT_NOT"):
            return 0, True
        if op == "SUBPATTERN":
            return self.first(arg[-1])  # type: ignore[index]
        if op == "ATOMIC_GROUP":
            return self.first(arg)  # type: ignore[arg-type]
        if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, body = arg  # type: ignore[misc]
            mask, nullable = self.first(body)
            return mask, nullable or low == 0
        if op == "BRANCH":
            mask, nullable = 0, False
            for alt in arg[1]:  # type: ignore[index]
                alt_mask, alt_nullable = self.first(alt)
                mask |= alt_mask
                nullable |= alt_nullable
            return mask, nullable
        if op == "GROUPREF_EXISTS":
            _group, yes, no = arg  # type: ignore[misc]
            yes_mask, yes_null = self.first(yes)
            no_mask, no_null = self.first(no) if no else (0, True)
            return yes_mask | no_mask, yes_null or no_null
        return ALL, True  # GROUPREF and anything unknown: assume the worst

    # -- the walk -----------------------------------------------------------
    def walk(self, seq: list, follow: int, in_repeat: bool, tail: list | None = None) -> None:
        """Count ambiguous quantifiers in ``seq`` followed by characters in ``follow``; ``tail`` is
        what comes after ``seq`` up to the end of the pattern (None: unknown, e.g. in a repetition)."""
        seq = _items(seq)
        # The literal character nearest before each element "gates" it: if the line lacks that
        # character the match fails before reaching the element, so its retries cost nothing.
        gates: list[str] = []
        nearest = ""
        for op, arg in seq:
            gates.append(nearest)
            if op.name == "LITERAL" and 32 < arg < 127:
                nearest = chr(arg)
        inherited = self.gate
        after = follow
        for position in range(len(seq) - 1, -1, -1):
            op, arg = seq[position]
            self.gate = "".join(dict.fromkeys(inherited + gates[position]))
            node_tail = None if tail is None else [*seq[position + 1:], *tail]
            self._walk_node(op.name, arg, after, in_repeat, node_tail)
            node_first, nullable = self._first_node(op.name, arg)
            after = node_first | (after if nullable else 0)

    def _walk_node(self, op: str, arg: Any, follow: int, in_repeat: bool, tail: list | None = None) -> None:
        if op == "SUBPATTERN":
            self.walk(arg[-1], follow, in_repeat, tail if not arg[1] and not arg[2] else None)  # type: ignore[index]
        elif op == "ATOMIC_GROUP":
            self.walk(arg, 0, in_repeat)  # type: ignore[arg-type]  # no backtracking into it from outside
        elif op in ("ASSERT", "ASSERT_NOT"):
            self.walk(arg[1], 0, False)  # type: ignore[index]
        elif op == "BRANCH":
            if in_repeat and self._alternatives_overlap(arg[1], follow):  # type: ignore[index]
                self.exponential = True  # (a|aa)*: a run of a's splits in exponentially many ways
            for alt in arg[1]:  # type: ignore[index]
                self.walk(alt, follow, in_repeat, tail)
        elif op == "GROUPREF_EXISTS":
            _group, yes, no = arg  # type: ignore[misc]
            self.walk(yes, follow, in_repeat, tail)
            if no:
                self.walk(no, follow, in_repeat, tail)
        elif op == "POSSESSIVE_REPEAT":
            low, high, body = arg  # type: ignore[misc]
            body_first, _ = self.first(body)
            self.walk(body, body_first, in_repeat or high - low > 1)
        elif op in ("MAX_REPEAT", "MIN_REPEAT"):
            low, high, body = arg  # type: ignore[misc]
            body_first, _ = self.first(body)
            wide = high == _MAXREPEAT or high - low >= _LARGE_RANGE
            overlap = body_first & follow
            # Retried at no cost when what follows is cheap to check (see _cheap_tail): e.g. the last
            # ``"%{DATA}"`` of a search, whose first stop before the quote completes the match.
            final = wide and overlap and not in_repeat and tail is not None and self._cheap_tail(tail, overlap)
            if wide and overlap and not final:
                delimiters = _delimiters(overlap)
                if in_repeat:
                    self.exponential = True  # (a+)+ style: the split points multiply
                elif delimiters is None:
                    self.ambiguous += 1
                elif body_first & _SPACE_BIT:
                    self.delimited.append(delimiters)
                    self.gates.append(self.gate)
                elif len(body) == 1 and bin(body_first).count("1") <= 2 * bin(overlap).count("1"):
                    self.ambiguous += 1  # a+a, \S+\S+: every character of the token is a split point
                # else: confined to a token and only retried at the few delimiters inside it, such as
                # the dots of a host name for (?:\.[a-z0-9-]+)*\.? : ignored
            before, before_delimited = self.ambiguous, len(self.delimited)
            # once at most ((?:%.+)? ): what follows the body is what follows the repeat
            self.walk(body, (body_first if high > 1 else 0) | follow, in_repeat or wide)
            if wide and self.ambiguous > before:
                self.exponential = True  # (a+)+ style nesting
            elif in_repeat and not wide and high > low and overlap:
                self.exponential = True  # (a?a)*: an optional part that what follows can also take
            elif not wide and high > 1:
                # (.*a){30} is thirty copies of .*a in sequence: count each copy (Logstash's
                # "timeout on failure" spec ran 78 s on ``re`` when counted once)
                self.ambiguous += (self.ambiguous - before) * (high - 1)
                self.delimited.extend(self.delimited[before_delimited:] * (high - 1))
                self.gates.extend(self.gates[before_delimited:] * (high - 1))

    def _cheap_tail(self, tail: list, stops: int) -> bool:
        """Whether a wildcard stopping at the characters ``stops`` may be retried at each of them for
        free, given ``tail``, everything after it up to the end of the pattern (of a search).

        True when the tail is a fixed number of single characters or anchors (alternatives of those
        included), possibly ending in a dot-all wildcard followed by one character that every
        stop character is: the first stop where that last wildcard reaches its character completes
        the match, and a stop where it does not means no stop character follows, so no other stop
        (but the few inside the fixed part) is left: the wildcard costs one scan of the line, not
        one per stop. (ECS ``"%{DATA:referrer}" "%{DATA:agent}"``.)"""
        for position, (op, arg) in enumerate(tail):
            name = op.name
            if name in ("LITERAL", "NOT_LITERAL", "ANY", "IN", "AT"):
                continue
            rest = tail[position + 1:]
            if name == "SUBPATTERN":
                return not arg[1] and not arg[2] and self._cheap_tail([*arg[-1], *rest], stops)
            if name == "BRANCH":
                return all(self._cheap_tail([*alt, *rest], stops) for alt in arg[1])
            if name in ("MAX_REPEAT", "MIN_REPEAT"):
                _low, high, body = arg
                if (high != _MAXREPEAT or not self.dotall or len(body) != 1 or body[0][0].name != "ANY"
                        or len(rest) != 1 or rest[0][0].name not in ("LITERAL", "IN")):
                    return False
                last = self._set(rest[0][0].name, rest[0][1])
                return stops & ~last == 0
            return False
        return True

    def _steps(self, seq: list, follow: int) -> list[int | None]:
        """An alternative as the character sets of its leading single-character elements; the last
        entry is the set of what may come next (None: the alternative ends there)."""
        steps: list[int | None] = []
        for position, (op, arg) in enumerate(seq):
            name = op.name
            if name in ("LITERAL", "NOT_LITERAL", "ANY", "IN"):
                steps.append(self._set(name, arg))
                continue
            mask, nullable = self.first(seq[position:])
            steps.append(mask | (follow if nullable else 0))
            steps.append(-1)  # unknown from here on
            return steps
        steps.append(None)
        return steps

    def _alternatives_overlap(self, alternatives: list, follow: int) -> bool:
        """Whether two alternatives can match the same text, or one a prefix of the other's (the
        choice a repetition may retry): compared character set by character set until one differs."""
        shapes = [self._steps(alt, follow) for alt in alternatives]
        for i, first in enumerate(shapes):
            for second in shapes[i + 1:]:
                if self._may_share(first, second, follow):
                    return True
        return False

    @staticmethod
    def _may_share(first: list[int | None], second: list[int | None], follow: int) -> bool:
        for a, b in zip(first, second, strict=False):
            if a == -1 or b == -1:
                return True  # past what is compared: assume the worst
            if a is None and b is None:
                return True  # the same characters so far, both end: identical alternatives
            left = follow if a is None else a
            right = follow if b is None else b
            if not left & right:
                return False  # a character one takes and the other cannot: they part here
            if a is None or b is None:
                return True  # one ends where the other goes on with what may follow it
        return True


def _items(seq: Any) -> list[Any]:
    """A tree sequence's list of nodes (a SubPattern's own list: indexing it goes through Python)."""
    return seq.data if type(seq) is sre_parse.SubPattern else seq  # type: ignore[no-any-return]


def assess(pattern: str, flags: int = 0, *, whole: bool = False) -> Risk:
    """The backtracking risk of a Python ``re`` pattern (the worst is assumed if it can't be parsed),
    for ``search`` or, with ``whole``, for ``fullmatch`` (where the end of the text must follow)."""
    tree = parse_tree(pattern, flags)
    return Risk(0, True) if tree is None else assess_tree(tree, pattern, whole=whole)


def parse_tree(pattern: str, flags: int = 0) -> Any | None:
    """``re``'s parse of ``pattern``, or None if it has any trouble with it."""
    try:
        return sre_parse.parse(pattern, flags)
    except Exception:  # noqa: BLE001 - any parser trouble means "unknown", i.e. risky
        return None


def assess_tree(tree: Any, pattern: str, *, whole: bool = False) -> Risk:
    """:func:`assess` of a pattern already parsed (``re._parser.parse(pattern, flags)``), which it only
    reads: the same tree can then be compiled (pipeline.grok.rewrite.compile_parsed)."""
    walker = _Walker(fold_case=bool(tree.state.flags & sre_constants.SRE_FLAG_IGNORECASE) or "(?i" in pattern)
    walker.dotall = bool(tree.state.flags & sre_constants.SRE_FLAG_DOTALL)
    walker.walk(list(tree), 0, False, None if whole else [])
    return Risk(walker.ambiguous, walker.exponential, tuple(walker.delimited), tuple(walker.gates))
