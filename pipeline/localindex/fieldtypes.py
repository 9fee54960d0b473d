"""How a range compares values of a field: as dates, numbers or keywords (strings), as Elasticsearch
would decide it from the index mapping.

The mapping is our index template's explicit fields first (``response`` and ``bytes`` are ``long``
there, so ``"200"`` strings still compare as numbers, as Elasticsearch coerces them); any other field
is typed like Elasticsearch's dynamic mapping types it: by the first value the index holds (a JSON
number → number, a string → keyword, since our template turns dynamic strings into keywords and
date detection is off). Keyword ranges compare strings lexicographically, as Elasticsearch does.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

Kind = Literal["date", "number", "keyword", "boolean"]

_NUMERIC_TYPES = frozenset({"long", "integer", "short", "byte", "double", "float", "half_float",
                            "scaled_float", "unsigned_long"})
_KEYWORD_TYPES = frozenset({"keyword", "constant_keyword", "wildcard", "ip", "version", "text",
                            "match_only_text"})


def kind_of_es_type(es_type: str | None) -> Kind | None:
    if es_type is None:
        return None
    if es_type in _NUMERIC_TYPES:
        return "number"
    if es_type in ("date", "date_nanos"):
        return "date"
    if es_type == "boolean":
        return "boolean"
    if es_type in _KEYWORD_TYPES:
        return "keyword"
    return None


def kind_of_json_type(json_type: str | None) -> Kind | None:
    """What dynamic mapping makes of a first value of this SQLite JSON type."""
    kinds: dict[str, Kind] = {"integer": "number", "real": "number", "text": "keyword", "true": "boolean",
                              "false": "boolean"}
    return kinds.get(json_type or "")


@lru_cache(maxsize=1)
def _template_fields() -> dict[str, str]:
    from pipeline.elasticsearch.template import base_properties

    flat: dict[str, str] = {}

    def walk(props: dict[str, object], prefix: str) -> None:
        for name, spec in props.items():
            if not isinstance(spec, dict):
                continue
            inner = spec.get("properties")
            if isinstance(inner, dict):
                walk(inner, f"{prefix}{name}.")
            elif isinstance(spec.get("type"), str):
                flat[f"{prefix}{name}"] = str(spec["type"])

    walk(base_properties(), "")
    return flat


def template_kind(field: str) -> Kind | None:
    """The kind our index template maps ``field`` to explicitly, or None."""
    return kind_of_es_type(_template_fields().get(field))
