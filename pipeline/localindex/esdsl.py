"""Query nodes → Elasticsearch/OpenSearch query DSL.

The other direction of :mod:`pipeline.localindex.dsl`: a query parsed once (KQL, Lucene or DSL)
is sent to a cluster as DSL, so the local index and the cluster answer the same query. Reading the
result back with :func:`pipeline.localindex.dsl.parse` gives the same nodes. A field name with
``*`` (KQL's ``http.*:404``) becomes a clause that takes field patterns (``multi_match``,
``query_string`` with ``fields``, ``exists``), since ``term``/``match``/``range`` take one field.
"""

from __future__ import annotations

from typing import Any

from pipeline.localindex.query import (
    Bool,
    Exists,
    Match,
    MatchAll,
    MatchNone,
    Phrase,
    Query,
    QueryError,
    Range,
    Regexp,
    Term,
    Terms,
    Wildcard,
)

_QUERY_STRING_SPECIAL = set('+-=&|><!(){}[]^"~:/ ')


def to_dsl(query: Query) -> dict[str, Any]:
    """The DSL clause for ``query``."""
    if isinstance(query, MatchAll):
        return {"match_all": {}}
    if isinstance(query, MatchNone):
        return {"match_none": {}}
    if isinstance(query, Bool):
        body: dict[str, Any] = {}
        for part in ("must", "filter", "should", "must_not"):
            clauses = getattr(query, part)
            if clauses:
                body[part] = [to_dsl(c) for c in clauses]
        if query.minimum_should_match is not None:
            body["minimum_should_match"] = query.minimum_should_match
        return {"bool": body}
    field = getattr(query, "field", "")
    if "*" in field:
        return _patterned(query)
    if isinstance(query, Term):
        spec: dict[str, Any] = {"value": query.value}
        if query.case_insensitive:
            spec["case_insensitive"] = True
        return {"term": {field: spec}}
    if isinstance(query, Terms):
        return {"terms": {field: list(query.values)}}
    if isinstance(query, Match):
        return {"match": {field: {"query": query.text, "operator": query.operator}}}
    if isinstance(query, Phrase):
        return {"match_phrase": {field: query.text}}
    if isinstance(query, Range):
        return {"range": {field: _bounds(query)}}
    if isinstance(query, Wildcard):
        wildcard: dict[str, Any] = {"value": query.pattern}
        if query.case_insensitive:
            wildcard["case_insensitive"] = True
        return {"wildcard": {field: wildcard}}
    if isinstance(query, Regexp):
        return {"regexp": {field: {"value": query.pattern}}}
    if isinstance(query, Exists):
        return {"exists": {"field": field}}
    raise QueryError(f"cannot express {query!r} as query DSL")


def _bounds(query: Range) -> dict[str, Any]:
    return {k: getattr(query, k) for k in ("gt", "gte", "lt", "lte") if getattr(query, k) is not None}


def _patterned(query: Query) -> dict[str, Any]:
    field = query.field  # type: ignore[attr-defined]
    if isinstance(query, Exists):
        return {"exists": {"field": field}}
    if isinstance(query, (Match, Phrase, Term)):
        text = query.value if isinstance(query, Term) else query.text
        kind = "phrase" if isinstance(query, Phrase) else "best_fields"
        body: dict[str, Any] = {"query": text, "fields": [field], "type": kind, "lenient": True}
        if isinstance(query, Match) and query.operator != "or":
            body["operator"] = query.operator
        return {"multi_match": body}
    if isinstance(query, Wildcard):
        return {"query_string": {"fields": [field], "query": _escape_keep_wildcards(query.pattern)}}
    if isinstance(query, Range):
        bounds = _bounds(query)
        low = bounds.get("gte", bounds.get("gt", "*"))
        high = bounds.get("lte", bounds.get("lt", "*"))
        text = (("{" if "gt" in bounds else "[") + _quoted(low) + " TO " + _quoted(high)
                + ("}" if "lt" in bounds else "]"))
        return {"query_string": {"fields": [field], "query": text}}
    raise QueryError(f"a field pattern ({field}) is not supported in {type(query).__name__} queries")


def _escape_keep_wildcards(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i:i + 2])
            i += 2
            continue
        out.append("\\" + ch if ch in _QUERY_STRING_SPECIAL else ch)
        i += 1
    return "".join(out)


def _quoted(value: Any) -> str:
    text = str(value)
    if text == "*":
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
