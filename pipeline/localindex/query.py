"""The internal query tree shared by the query-string parser, the DSL reader and the SQL compiler.

Both front ends (Kibana/Lucene query strings and Elasticsearch query DSL
clauses) produce these nodes; :mod:`pipeline.localindex.sql` turns them into
SQL. Leaves name a field by its dotted path (``service.name``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import PipelineError


class QueryError(PipelineError, ValueError):
    """A query that cannot be parsed or understood; the message says where and why."""


class Query:
    """Base of every query node."""


@dataclass(frozen=True)
class MatchAll(Query):
    pass


@dataclass(frozen=True)
class MatchNone(Query):
    pass


@dataclass(frozen=True)
class Term(Query):
    """Exact value of a keyword/number field; on a full-text field, the analysed words as a phrase."""

    field: str
    value: Any
    case_insensitive: bool = False


@dataclass(frozen=True)
class Terms(Query):
    field: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Match(Query):
    """Analysed text (``match``): any (``or``) or all (``and``) of its words on a full-text field."""

    field: str
    text: str
    operator: str = "or"


@dataclass(frozen=True)
class Phrase(Query):
    """The words of ``text`` next to each other, in order (``match_phrase``, ``"quoted"``)."""

    field: str
    text: str


@dataclass(frozen=True)
class Range(Query):
    """Bounds are raw values (numbers, strings, date math); ``None`` means unbounded."""

    field: str
    gt: Any = None
    gte: Any = None
    lt: Any = None
    lte: Any = None


@dataclass(frozen=True)
class Wildcard(Query):
    """Lucene wildcard: ``*`` any run of characters, ``?`` one character."""

    field: str
    pattern: str
    case_insensitive: bool = False


@dataclass(frozen=True)
class Regexp(Query):
    """A whole-value regular expression (Lucene regexps are anchored)."""

    field: str
    pattern: str


@dataclass(frozen=True)
class Exists(Query):
    field: str


@dataclass(frozen=True)
class Bool(Query):
    """ES ``bool``: must/filter AND, must_not excluded, should with ``minimum_should_match``.

    ``minimum_should_match=None`` means Elasticsearch's default: 1 when there is
    no must/filter clause, otherwise 0 (should clauses only score).
    """

    must: tuple[Query, ...] = ()
    should: tuple[Query, ...] = ()
    must_not: tuple[Query, ...] = ()
    filter: tuple[Query, ...] = ()
    minimum_should_match: int | str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def required_should(self) -> int:
        """How many should clauses must match, resolved as Elasticsearch does."""
        msm = self.minimum_should_match
        count = len(self.should)
        if msm is None:
            return 0 if (self.must or self.filter) else min(1, count)
        if isinstance(msm, str):
            text = msm.strip()
            try:
                if text.endswith("%"):
                    pct = float(text[:-1])
                    value = int(count * abs(pct) / 100)
                    value = value if pct >= 0 else count - value
                else:
                    value = int(text)
            except ValueError:
                raise QueryError(f"minimum_should_match {msm!r}: expected an integer or a percentage "
                                 "like '75%'") from None
        else:
            value = int(msm)
        if value < 0:
            value = count + value
        # More than there are should clauses matches nothing, as in Elasticsearch.
        return max(0, value) if count else 0
