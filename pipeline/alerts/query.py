"""Rule filters → one backend query.

A rule's ``filter:`` is ElastAlert's list of Elasticsearch query clauses
(``query_string``, ``term``, ``terms``, ``range``, ``match``, ``match_phrase``,
``wildcard``, ``prefix``, ``exists``, ``bool``), strings in Lucene query-string
syntax, or ``kql:`` clauses in Kibana's query language (ours, beside ElastAlert's). Both backends take the result, ``{"bool": {"filter": [...]}}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pipeline.errors import ConfigError

Query = dict[str, Any]

_FIELD_CLAUSES = {"term", "terms", "range", "match", "match_phrase", "wildcard", "prefix"}
_BOOL_PARTS = {"must", "filter", "should", "must_not", "minimum_should_match"}
_RANGE_OPS = {"gt", "gte", "lt", "lte", "format", "time_zone"}


def compile_filters(filters: Sequence[Any], name: str = "filter") -> Query | None:
    """Validate a rule's filter list and combine it; ConfigError naming the bad clause.

    Every clause is also parsed by the local index's query parser (the one the local
    backend runs, which follows Elasticsearch's), so a broken ``query_string`` fails
    when the rule loads, not at its first run.
    """
    clauses = [_clause(item, f"{name}[{i}]") for i, item in enumerate(filters)]
    for i, clause in enumerate(clauses):
        _parse_check(clause, f"{name}[{i}]")
    return {"bool": {"filter": clauses}} if clauses else None


def _parse_check(clause: Query, where: str) -> None:
    from pipeline.localindex import dsl
    from pipeline.localindex.query import QueryError

    try:
        dsl.parse(clause)
    except QueryError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def check_query_string(text: str) -> tuple[str, int] | None:
    """(problem, 0-based offset) when ``text`` is not a valid query string, else None."""
    import re

    from pipeline.localindex import querystring
    from pipeline.localindex.query import QueryError

    try:
        querystring.parse(text)
    except QueryError as exc:
        message = str(exc).removeprefix(f"query {text!r}: ")
        at = re.search(r"at character (\d+)", message)
        offset = int(at.group(1)) - 1 if at else (len(text) if "at the end" in message else 0)
        return message, offset
    return None


def _clause(item: Any, where: str) -> Query:
    if isinstance(item, str):
        if not item.strip():
            raise ConfigError(f"{where}: empty query string")
        return {"query_string": {"query": item}}
    if not isinstance(item, Mapping) or len(item) != 1:
        raise ConfigError(f"{where}: a filter is a query string or a one-key clause like "
                          f"{{term: {{service.name: api}}}}, got {item!r}")
    (kind, body), = item.items()
    if kind == "query" and isinstance(body, Mapping):  # ElastAlert's old {query: {query_string: ...}}
        return _clause(body, where)
    if kind == "query_string":
        if not isinstance(body, Mapping) or not isinstance(body.get("query"), str):
            raise ConfigError(f"{where}: query_string needs {{query: \"...\"}}")
        return {"query_string": dict(body)}
    if kind == "kql":
        return _kql_clause(body, where)
    if kind == "exists":
        if not isinstance(body, Mapping) or not isinstance(body.get("field"), str):
            raise ConfigError(f"{where}: exists needs {{field: name}}")
        return {"exists": {"field": body["field"]}}
    if kind == "bool":
        if not isinstance(body, Mapping) or not body or set(body) - _BOOL_PARTS:
            raise ConfigError(f"{where}: bool takes {', '.join(sorted(_BOOL_PARTS))}")
        out: dict[str, Any] = {}
        for part, value in body.items():
            if part == "minimum_should_match":
                out[part] = value
                continue
            items = value if isinstance(value, list) else [value]
            out[part] = [_clause(x, f"{where}.bool.{part}[{i}]") for i, x in enumerate(items)]
        return {"bool": out}
    if kind in _FIELD_CLAUSES:
        _check_field_clause(kind, body, where)
        return {kind: dict(body)}
    raise ConfigError(f"{where}: unsupported clause {kind!r}; use one of kql, query_string, term, terms, range, "
                      "match, match_phrase, wildcard, prefix, exists, bool")


def _kql_clause(body: Any, where: str) -> Query:
    """``kql: 'log.level:ERROR and not service.name:test'`` (or ``{query: ...}``): Kibana's query language,
    parsed once here and sent to either backend as DSL."""
    from pipeline.localindex.esdsl import to_dsl
    from pipeline.localindex.kql import parse as parse_kql
    from pipeline.localindex.query import QueryError

    text = body.get("query") if isinstance(body, Mapping) else body
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: kql needs a query string, like kql: 'log.level:ERROR'")
    try:
        return to_dsl(parse_kql(text))
    except QueryError as exc:
        raise ConfigError(f"{where}: kql: {exc}") from None


def _check_field_clause(kind: str, body: Any, where: str) -> None:
    if not isinstance(body, Mapping) or len(body) != 1:
        raise ConfigError(f"{where}: {kind} takes one field, like {{{kind}: {{service.name: ...}}}}")
    (field, value), = body.items()
    if kind == "terms" and not isinstance(value, list):
        raise ConfigError(f"{where}: terms on {field} needs a list of values")
    if kind == "range" and (not isinstance(value, Mapping) or not value or set(value) - _RANGE_OPS):
        raise ConfigError(f"{where}: range on {field} takes gt, gte, lt, lte")


def combine(*queries: Query | None) -> Query | None:
    """AND of the given queries (None = match all)."""
    clauses: list[Query] = []
    for q in queries:
        if q is None:
            continue
        if set(q) == {"bool"} and set(q["bool"]) == {"filter"}:
            clauses.extend(q["bool"]["filter"])
        else:
            clauses.append(q)
    return {"bool": {"filter": clauses}} if clauses else None


def key_filter(fields: Sequence[str], values: Sequence[Any]) -> Query | None:
    """Restrict to one query_key value (one term per field)."""
    clauses = [{"term": {f: v}} for f, v in zip(fields, values, strict=True)]
    return {"bool": {"filter": clauses}} if clauses else None


def time_range(timestamp_field: str, start: datetime | None, end: datetime | None) -> Query | None:
    """Half-open [start, end) range clause on the timestamp field."""
    bounds: dict[str, Any] = {}
    if start is not None:
        bounds["gte"] = iso(start)
    if end is not None:
        bounds["lt"] = iso(end)
    if not bounds:
        return None
    bounds["format"] = "strict_date_optional_time"
    return {"range": {timestamp_field: bounds}}


def iso(moment: datetime) -> str:
    """UTC ISO8601 with milliseconds, as stored in ``@timestamp``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_query_string(query: Query | None) -> str:
    """Best-effort Lucene text for a query (for Kibana links and messages)."""
    if query is None:
        return ""
    (kind, body), = query.items()
    if kind == "bool":
        parts = []
        for part in ("must", "filter"):
            parts += [to_query_string(c) for c in body.get(part, [])]
        should = [to_query_string(c) for c in body.get("should", [])]
        if should:
            parts.append("(" + " OR ".join(should) + ")")
        parts += ["NOT " + to_query_string(c) for c in body.get("must_not", [])]
        return " AND ".join(p if " OR " not in p or p.startswith("(") else f"({p})" for p in parts if p)
    if kind == "query_string":
        return f"({body['query']})"
    if kind == "exists":
        return f"{body['field']}:*"
    (field, value), = body.items()
    if kind in ("term", "match", "match_phrase"):
        if isinstance(value, Mapping):
            value = value.get("value", value.get("query"))
        return f"{field}:{_quote(value)}"
    if kind == "terms":
        return f"{field}:(" + " OR ".join(_quote(v) for v in value) + ")"
    if kind in ("wildcard", "prefix"):
        if isinstance(value, Mapping):
            value = value.get("value")
        return f"{field}:{value}{'*' if kind == 'prefix' else ''}"
    if kind == "range":
        low = value.get("gte", value.get("gt", "*"))
        high = value.get("lte", value.get("lt", "*"))
        return f"{field}:{'[' if 'gt' not in value else '{'}{low} TO {high}{']' if 'lt' not in value else '}'}"
    return ""


def _quote(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
