"""Elasticsearch query DSL clauses (as dicts) → :mod:`pipeline.localindex.query` nodes.

Supported: ``match_all``, ``match_none``, ``query_string``, ``term``,
``terms``, ``range`` (numbers, strings, date math with ``time_zone``),
``match``, ``match_phrase``, ``multi_match``, ``wildcard``, ``prefix``, ``regexp``, ``exists``
and ``bool`` (``must``/``should``/``must_not``/``filter``,
``minimum_should_match``). Anything else is rejected with a QueryError naming
the clause, never ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pipeline.localindex import datemath, querystring
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


def _single_field(kind: str, body: Any) -> tuple[str, Any]:
    if not isinstance(body, Mapping):
        raise QueryError(f"{kind}: expected {{\"<field>\": ...}}, got {body!r}")
    fields = [k for k in body if k not in ("boost", "_name")]
    if len(fields) != 1:
        raise QueryError(f"{kind}: expected exactly one field, got {fields!r}")
    return fields[0], body[fields[0]]


def _term(body: Any) -> Query:
    field, spec = _single_field("term", body)
    if isinstance(spec, Mapping):
        if "value" not in spec:
            raise QueryError(f"term on {field}: expected {{\"value\": ...}}")
        return Term(field, spec["value"], bool(spec.get("case_insensitive", False)))
    return Term(field, spec)


def _terms(body: Any) -> Query:
    field, values = _single_field("terms", body)
    if not isinstance(values, list):
        raise QueryError(f"terms on {field}: expected a list of values (terms lookup is not supported)")
    return Terms(field, tuple(values))


def _range(body: Any) -> Query:
    field, spec = _single_field("range", body)
    if not isinstance(spec, Mapping):
        raise QueryError(f"range on {field}: expected {{\"gte\": ..., \"lt\": ...}}")
    unknown = set(spec) - {"gt", "gte", "lt", "lte", "from", "to", "include_lower", "include_upper",
                           "format", "time_zone", "boost", "relation"}
    if unknown:
        raise QueryError(f"range on {field}: unknown parameters {sorted(unknown)}")
    bounds = {k: spec.get(k) for k in ("gt", "gte", "lt", "lte")}
    if "from" in spec and spec["from"] is not None:
        bounds["gte" if spec.get("include_lower", True) else "gt"] = spec["from"]
    if "to" in spec and spec["to"] is not None:
        bounds["lte" if spec.get("include_upper", True) else "lt"] = spec["to"]
    tz = spec.get("time_zone")
    if tz:
        # Resolve dates now so the time zone applies to dates without an offset and to rounding.
        for key, value in bounds.items():
            if value is not None and datemath.looks_like_date(value):
                bounds[key] = datemath.resolve(value, round_up=key in ("gt", "lte"), tz=tz)
    return Range(field, **bounds)


def _text_spec(kind: str, body: Any, key: str = "query") -> tuple[str, str, Mapping[str, Any]]:
    field, spec = _single_field(kind, body)
    if isinstance(spec, Mapping):
        if key not in spec:
            raise QueryError(f"{kind} on {field}: expected {{\"{key}\": ...}}")
        return field, spec[key], spec
    return field, spec, {}


def _match(body: Any) -> Query:
    field, text, spec = _text_spec("match", body)
    operator = str(spec.get("operator", "or")).lower()
    if operator not in ("or", "and"):
        raise QueryError(f"match on {field}: operator must be 'or' or 'and', got {operator!r}")
    if not isinstance(text, str):
        return Term(field, text)
    return Match(field, text, operator)


def _match_phrase(body: Any) -> Query:
    field, text, _ = _text_spec("match_phrase", body)
    return Phrase(field, str(text))


def _wildcard(body: Any) -> Query:
    field, spec = _single_field("wildcard", body)
    if isinstance(spec, Mapping):
        pattern = spec.get("value", spec.get("wildcard"))
        if pattern is None:
            raise QueryError(f"wildcard on {field}: expected {{\"value\": \"pattern*\"}}")
        return Wildcard(field, str(pattern), bool(spec.get("case_insensitive", False)))
    return Wildcard(field, str(spec))


def _prefix(body: Any) -> Query:
    field, text, spec = _text_spec("prefix", body, key="value")
    escaped = str(text).replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
    return Wildcard(field, escaped + "*", bool(spec.get("case_insensitive", False)))


def _regexp(body: Any) -> Query:
    field, text, _ = _text_spec("regexp", body, key="value")
    return Regexp(field, str(text))


def _exists(body: Any) -> Query:
    if not isinstance(body, Mapping) or not isinstance(body.get("field"), str):
        raise QueryError(f"exists: expected {{\"field\": \"name\"}}, got {body!r}")
    return Exists(body["field"])


def _query_string(body: Any) -> Query:
    if isinstance(body, str):
        return querystring.parse(body)
    if not isinstance(body, Mapping) or "query" not in body:
        raise QueryError("query_string: expected {\"query\": \"...\"}")
    operator = str(body.get("default_operator", "OR"))
    fields = body.get("fields")
    if isinstance(fields, list) and fields:
        # Each field (or field pattern) in turn as the default field; a document matches on any.
        parsed = [querystring.parse(str(body["query"]), str(f), operator) for f in fields]
        return parsed[0] if len(parsed) == 1 else Bool(should=tuple(parsed), minimum_should_match=1)
    default_field = body.get("default_field") or querystring.DEFAULT_FIELD
    if default_field == "*":
        default_field = querystring.DEFAULT_FIELD
    return querystring.parse(str(body["query"]), default_field, operator)


def _multi_match(body: Any) -> Query:
    if not isinstance(body, Mapping) or "query" not in body:
        raise QueryError("multi_match: expected {\"query\": \"...\", \"fields\": [...]}")
    fields = body.get("fields") or [querystring.DEFAULT_FIELD]
    if not isinstance(fields, list):
        raise QueryError("multi_match: fields must be a list of field names or patterns")
    kind = str(body.get("type", "best_fields"))
    if kind not in ("best_fields", "most_fields", "phrase"):
        raise QueryError(f"multi_match: type {kind!r} is not supported by the local index "
                         "(best_fields, most_fields, phrase)")
    text = body["query"]
    operator = str(body.get("operator", "or")).lower()
    leaves: list[Query] = []
    for field in fields:
        name = str(field).split("^", 1)[0]  # boosts do not change which documents match
        if kind == "phrase":
            leaves.append(Phrase(name, str(text)))
        elif isinstance(text, str):
            leaves.append(Match(name, text, operator))
        else:
            leaves.append(Term(name, text))
    return leaves[0] if len(leaves) == 1 else Bool(should=tuple(leaves), minimum_should_match=1)


def _clauses(kind: str, value: Any) -> tuple[Query, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(parse(item) for item in items)


def _bool(body: Any) -> Query:
    if not isinstance(body, Mapping):
        raise QueryError(f"bool: expected a hash of must/should/must_not/filter, got {body!r}")
    unknown = set(body) - {"must", "should", "must_not", "filter", "minimum_should_match", "boost", "_name"}
    if unknown:
        raise QueryError(f"bool: unknown parameters {sorted(unknown)}")
    return Bool(
        must=_clauses("must", body.get("must")),
        should=_clauses("should", body.get("should")),
        must_not=_clauses("must_not", body.get("must_not")),
        filter=_clauses("filter", body.get("filter")),
        minimum_should_match=body.get("minimum_should_match"),
    )


_CLAUSES: dict[str, Callable[[Any], Query]] = {
    "match_all": lambda body: MatchAll(),
    "match_none": lambda body: MatchNone(),
    "query_string": _query_string,
    "multi_match": _multi_match,
    "term": _term,
    "terms": _terms,
    "range": _range,
    "match": _match,
    "match_phrase": _match_phrase,
    "wildcard": _wildcard,
    "prefix": _prefix,
    "regexp": _regexp,
    "exists": _exists,
    "bool": _bool,
}


def parse(clause: Mapping[str, Any]) -> Query:
    """One DSL clause (``{"term": {...}}``); a whole search body's ``{"query": {...}}`` is accepted too."""
    if not isinstance(clause, Mapping):
        raise QueryError(f"a query DSL clause must be a hash like {{\"term\": {{...}}}}, got {clause!r}")
    if set(clause) == {"query"}:
        return parse(clause["query"])
    if len(clause) != 1:
        raise QueryError(f"a query DSL clause has exactly one key, got {sorted(clause)}")
    (kind, body), = clause.items()
    handler = _CLAUSES.get(kind)
    if handler is None:
        raise QueryError(f"query clause {kind!r} is not supported by the local index "
                         f"(supported: {', '.join(sorted(_CLAUSES))})")
    return handler(body)
