"""Running one compiled grok expression with a timeout, at ``re`` speed when it is safe.

Each expression is compiled twice: with ``re`` (fast, not interruptible) and
lazily with the ``regex`` module (slower, honours ``timeout=``). The static
guard (:mod:`pipeline.grok.guard`) gives, per expression and timeout, the
longest line on which ``re``'s worst case stays well inside the timeout;
shorter lines run on ``re``, longer ones on ``regex`` with the timeout. So a
pathological line can never hold a worker much longer than the timeout, and
the common case (apache, syslog headers) never pays for the protection.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from pipeline.grok.compiler import Expanded
from pipeline.grok.guard import Risk, assess, assess_tree, parse_tree
from pipeline.grok.rewrite import compile_parsed, speed_up

# Ruby: ^/$ match at line breaks, \w \d \s are ASCII. Logstash's grok (jls-grok) compiles every
# expression with Regexp::MULTILINE, Ruby's name for "dot matches newline": GREEDYDATA takes a whole
# multi-line message (stack traces), so DOTALL here. An inline (?-m) in a pattern turns it off again.
RE_FLAGS = re.ASCII | re.MULTILINE | re.DOTALL


def regex_compile(pattern: str, *, unicode: bool = False) -> Any:
    """The ``regex`` module's pattern (V0, multi-line, dot-all as RE_FLAGS), the module imported on
    first use: most expressions never need it, and it is ~7 ms of every start-up.
    \\p{...} classes need Unicode mode; such patterns then also get Unicode \\w \\d \\s (documented)."""
    import regex

    flags = regex.V0 | regex.MULTILINE | regex.DOTALL
    return regex.compile(pattern, flags if unicode else flags | regex.ASCII)


# How many of the guard's estimated steps ``re`` gets through per second. Measured on this 2-core
# machine (bench: pathological DATA/GREEDYDATA/NOTSPACE chains, load ~3): 1.8e9 for the tightest
# case (three GREEDYDATA), 1e11-1e12 for the others. 2e8 keeps a 10x margin: a line the guard lets
# through to ``re`` finishes within a tenth of the timeout even in the tightest case.
STEPS_PER_SECOND = 2e8


#: A slow-path search first runs whole for at most this long; past it, it goes on one start position
#: at a time so that a stop request is seen between positions (a stuck line cannot hold a shutdown).
FIRST_SLICE_SECONDS = 1.0
#: How often (in start positions) the position-by-position search looks at the stop flag and the clock.
STOP_CHECK_POSITIONS = 64
#: The longest a match attempt at one start position may run: a running attempt cannot be interrupted,
#: so this bounds how long a stop waits for grok. An attempt needing more counts as a timeout.
POSITION_SECONDS = 5.0


class GrokTimeout(Exception):
    """A match ran past its timeout (the event is tagged ``_groktimeout``)."""


_LEADING_INT = re.compile(r"\s*([+-]?\d+)")
_LEADING_FLOAT = re.compile(r"\s*([+-]?(?:\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+))")


def _to_int(value: str) -> int:
    """Ruby's String#to_i, as Logstash converts ``:int``: the leading integer, else 0 ("3.7" → 3)."""
    try:
        return int(value)
    except ValueError:
        found = _LEADING_INT.match(value)
        return int(found.group(1)) if found else 0


def _to_float(value: str) -> float:
    """Ruby's String#to_f, as Logstash converts ``:float``: the leading number, else 0.0."""
    try:
        return float(value)
    except ValueError:
        found = _LEADING_FLOAT.match(value)
        return float(found.group(1)) if found else 0.0


CONVERTERS: dict[str | None, Callable[[str], Any] | None] = {None: None, "int": _to_int, "float": _to_float}


class CompiledExpression:
    """One grok expression compiled for both engines, plus its capture plan."""

    __slots__ = ("expanded", "fast", "_safe", "risk", "_whole_risk", "fields", "_limits")

    def __init__(self, expanded: Expanded) -> None:
        self.expanded = expanded
        pattern = expanded.pattern
        # re gets an equivalent text that scans faster (pipeline.grok.rewrite); regex and the guard
        # see the expression as translated
        # The expression is parsed once: the guard reads the tree, then re's pattern is compiled from it
        # (a start-up cost per pattern: parsing is a third of what compiling costs)
        self.fast: re.Pattern[str] | None = None
        self.risk: Risk = Risk(0, True)
        if not expanded.needs_regex_module:
            tree = parse_tree(pattern, RE_FLAGS)
            if tree is None:  # re refuses it: its error, raised here, names the problem
                self.fast = re.compile(speed_up(pattern), RE_FLAGS)
            else:
                self.risk = assess_tree(tree, pattern)
                self.fast = compile_parsed(pattern, tree, int(RE_FLAGS))
        self._safe: Any = None if self.fast is not None else regex_compile(pattern, unicode=True)
        compiled: Any = self.fast if self.fast is not None else self._safe
        groups = compiled.groupindex
        # (index into match.groups(), field text, converter or None), in pattern order
        self.fields: tuple[tuple[int, str, Callable[[str], Any] | None], ...] = tuple(
            (groups[c.group] - 1, c.field, CONVERTERS.get(c.type)) for c in expanded.captures
        )
        self._limits: dict[float, int] = {}
        self._whole_risk: Risk | None = None

    @property
    def whole_risk(self) -> Risk:
        """The guard's estimate for ``fullmatch`` (stricter than for search: the end must follow)."""
        if self._whole_risk is None:
            self._whole_risk = assess(self.expanded.pattern, RE_FLAGS, whole=True) if self.fast is not None else self.risk
        return self._whole_risk

    @property
    def safe(self) -> Any:
        if self._safe is None:
            self._safe = regex_compile(self.expanded.pattern)
        return self._safe

    def fast_limit(self, timeout: float) -> int:
        """Longest input ``re`` may run on within ``timeout`` seconds (per the static guard)."""
        limit = self._limits.get(timeout)
        if limit is None:
            if self.fast is None:
                limit = -1
            else:
                limit = self.risk.safe_length(timeout * STEPS_PER_SECOND)
            if len(self._limits) < 64:
                self._limits[timeout] = limit
        return limit

    def search(self, text: str, timeout: float | None, *, full: bool = False,
               stop: threading.Event | None = None) -> Any:
        """The match object or None; GrokTimeout if ``timeout`` seconds ran out (None = no limit).

        ``full``: the whole text must match (pygrok's default), instead of Logstash's search.
        ``stop``: once set (the pipeline is stopping), a slow-path search gives up at its next start
        position and later ones at once; their events are tagged ``_groktimeout``, not lost.
        """
        fast = self.fast
        if full:
            if fast is not None and (timeout is None or self.whole_risk.fits(text, timeout * STEPS_PER_SECOND)):
                return fast.fullmatch(text)
        elif fast is not None and (timeout is None or len(text) <= self.fast_limit(timeout)
                                   or self.risk.fits(text, timeout * STEPS_PER_SECOND)):
            return fast.search(text)
        if timeout is not None and timeout <= 0:
            raise GrokTimeout("no time left")
        if stop is not None and stop.is_set():
            raise GrokTimeout("the pipeline is stopping")
        started = time.monotonic()
        first = timeout if timeout is not None and timeout <= FIRST_SLICE_SECONDS else FIRST_SLICE_SECONDS
        try:
            if full:
                return self.safe.fullmatch(text, timeout=timeout, concurrent=True)
            # concurrent: the GIL is released, so the event loop (signals, API, stop) runs meanwhile
            return self.safe.search(text, timeout=first, concurrent=True)
        except TimeoutError as exc:
            if timeout is not None and time.monotonic() - started >= timeout:
                raise GrokTimeout(str(exc)) from None
        deadline = None if timeout is None else started + timeout
        return self._search_by_position(text, deadline, stop)

    def _search_by_position(self, text: str, deadline: float | None, stop: threading.Event | None) -> Any:
        """``search`` as a match at each start position in turn, checking the stop flag and the
        deadline between positions (a whole search cannot be interrupted)."""
        match = self.safe.match
        for position in range(len(text) + 1):
            if position % STOP_CHECK_POSITIONS == 0 and stop is not None and stop.is_set():
                raise GrokTimeout("the pipeline is stopping")
            limit = POSITION_SECONDS
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise GrokTimeout("timed out")
                limit = min(limit, remaining)
            try:
                found = match(text, pos=position, timeout=limit, concurrent=True)
            except TimeoutError:
                raise GrokTimeout(f"timed out (one start position may take at most {POSITION_SECONDS:g}s)") from None
            if found is not None:
                return found
        return None

    def captures(self, match: Any) -> list[tuple[str, Any]]:
        """(field, value) pairs in pattern order; None for groups that did not take part."""
        values = match.groups()
        out = []
        for index, name, convert in self.fields:
            value = values[index]
            if value is not None and convert is not None:
                try:
                    value = convert(value)
                except ValueError:
                    pass  # keep the text, as Logstash does for unconvertible values
            out.append((name, value))
        return out
