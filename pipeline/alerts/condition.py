"""The condition language of compact rules: ``error_count > 10 within 5m by service.name``.

    condition := measure OP NUMBER ["%"] "within" DURATION ["by" FIELD ("," FIELD)*]
    measure   := error_count | count | count(<kibana query>) | percent(<kibana query>)
    OP        := > | >= | < | <=

``error_count`` counts events whose ``log.level`` is ERROR (or error); ``count`` counts
every event of the index; ``percent(q)`` is the share of events matching ``q``.
A condition compiles to ElastAlert2 keys (a frequency, flatline or percentage_match
rule), so realert, aggregation, state and retries all apply. Errors carry the offset
of the offending text so the caller can point at file:line:col.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Any

from pipeline.plugin import Duration

MEASURES = ("error_count", "count", "percent")
ERROR_LEVELS = ["ERROR", "error", "Error"]
_OPS = (">=", "<=", ">", "<")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WORD = re.compile(r"[A-Za-z_@][\w.@-]*")


class ConditionError(ValueError):
    """A condition that does not parse; ``offset`` is where in the text the problem is."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Condition:
    measure: str                 # error_count, count or percent
    query: str | None            # the query inside count(...) / percent(...)
    op: str
    value: float
    within: float                # seconds
    by: tuple[str, ...] = ()

    def rule_keys(self) -> dict[str, Any]:
        """The ElastAlert2 keys this condition stands for."""
        keys: dict[str, Any] = {}
        if self.by:
            keys["query_key"] = list(self.by) if len(self.by) > 1 else self.by[0]
        if self.measure == "percent":
            keys.update(type="percentage_match", match_bucket_filter=[self.query], buffer_time=_period(self.within))
            keys["max_percentage" if self.op.startswith(">") else "min_percentage"] = self.value
            return keys
        if self.measure == "error_count":
            keys["filter"] = [{"terms": {"log.level": list(ERROR_LEVELS)}}]
        elif self.query:
            keys["filter"] = [self.query]
        threshold = int(self.value)
        if self.op.startswith(">"):  # "more than N" is at least N + 1 events
            keys.update(type="frequency", num_events=threshold + (1 if self.op == ">" else 0))
        else:                         # "fewer than N" is flatline's threshold N
            keys.update(type="flatline", threshold=threshold + (1 if self.op == "<=" else 0))
        keys["timeframe"] = _period(self.within)
        return keys


def _period(seconds: float) -> dict[str, float]:
    return {"seconds": int(seconds)} if seconds == int(seconds) else {"seconds": seconds}


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def word(self, what: str) -> str:
        self.skip()
        match = _WORD.match(self.text, self.pos)
        if not match:
            raise ConditionError(f"expected {what}", self.pos)
        self.pos = match.end()
        return match.group(0)

    def take(self, literal: str) -> bool:
        self.skip()
        if self.text.startswith(literal, self.pos):
            self.pos += len(literal)
            return True
        return False

    def parenthesized(self) -> str:
        """The text between balanced parentheses (quotes respected), after "(" was taken."""
        start, depth, quote = self.pos, 1, ""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote:
                if char == "\\":
                    self.pos += 1
                elif char == quote:
                    quote = ""
            elif char == '"':
                quote = char
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    self.pos += 1
                    return self.text[start:self.pos - 1]
            self.pos += 1
        raise ConditionError("missing ) closing the query", start - 1)


def parse_condition(text: str) -> Condition:
    """Parse a condition; ConditionError with the offset of the first problem."""
    reader = _Reader(text)
    reader.skip()
    measure_at = reader.pos
    measure = reader.word("error_count, count(<query>) or percent(<query>)")
    if measure not in MEASURES:
        hint = difflib.get_close_matches(measure, MEASURES, 1)
        raise ConditionError(f'unknown measure "{measure}"' + (f' (did you mean "{hint[0]}"?)' if hint else
                                                               f" (one of {', '.join(MEASURES)})"), measure_at)
    query = None
    if reader.take("("):
        if measure == "error_count":
            raise ConditionError("error_count takes no query (use count(<query>))", reader.pos - 1)
        query_at = reader.pos
        query = reader.parenthesized().strip()
        if not query:
            raise ConditionError("empty query in ()", query_at)
        _check_query(query, query_at)
    elif measure == "percent":
        raise ConditionError("percent needs a query: percent(<query>)", reader.pos)
    reader.skip()
    op_at = reader.pos
    op = next((o for o in _OPS if reader.take(o)), None)
    if op is None:
        raise ConditionError("expected a comparison: >, >=, < or <=", op_at)
    reader.skip()
    number_at = reader.pos
    number = _NUMBER.match(text, reader.pos)
    if not number:
        raise ConditionError("expected a number", number_at)
    reader.pos = number.end()
    value = float(number.group(0))
    percent_sign = reader.take("%")
    if measure != "percent" and (percent_sign or value != math.floor(value)):
        raise ConditionError("a count is compared with a whole number", number_at)
    within = None
    by: list[str] = []
    while not reader.at_end():
        word_at = reader.pos
        word = reader.word('"within <duration>" or "by <field>"')
        if word == "within":
            reader.skip()
            duration_at = reader.pos
            token = reader.word("a duration like 5m or 1h") if not text[reader.pos:reader.pos + 1].isdigit() \
                else _token(reader)
            try:
                within = float(Duration.parse(token))
            except ValueError:
                raise ConditionError(f'"{token}" is not a duration (like 30s, 5m, 1h, 1d)', duration_at) from None
            if within <= 0:
                raise ConditionError("the window must be longer than 0", duration_at)
        elif word == "by":
            by.append(reader.word("a field name after by"))
            while reader.take(","):
                by.append(reader.word("a field name after ,"))
        else:
            hint = difflib.get_close_matches(word, ["within", "by"], 1)
            raise ConditionError(f'unexpected "{word}"' + (f' (did you mean "{hint[0]}"?)' if hint else
                                                           ' (expected "within <duration>" or "by <field>")'),
                                 word_at)
    if within is None:
        raise ConditionError('missing "within <duration>" (e.g. within 5m)', len(text))
    return Condition(measure, query, op, value, within, tuple(by))


def _token(reader: _Reader) -> str:
    match = re.compile(r"\d+(?:\.\d+)?\s*[A-Za-z]*").match(reader.text, reader.pos)
    assert match is not None
    reader.pos = match.end()
    return match.group(0)


def _check_query(query: str, offset: int) -> None:
    """Parse the query with the parser the backends use, so a typo fails at load, not at run time."""
    from pipeline.alerts.query import check_query_string

    problem = check_query_string(query)
    if problem is not None:
        message, at = problem
        raise ConditionError(f"query {query!r}: {message}", offset + at)
