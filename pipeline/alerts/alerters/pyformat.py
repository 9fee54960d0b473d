"""Python ``str.format`` with a match's fields, as ElastAlert2's alerters format their options
(``template.format(**match)``), and the query_key value ElastAlert2 puts in default titles."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pipeline.alerts.types.base import lookup_field

log = logging.getLogger(__name__)


def format_with_match(template: str, match: dict[str, Any], what: str) -> str:
    """``template.format(**match)`` (``{host[name]}`` reaches nested fields). A field the match lacks
    leaves the text as written, with a warning: in ElastAlert2 the KeyError would lose the alert."""
    try:
        return str(template).format(**match)
    except (KeyError, IndexError, AttributeError, ValueError, TypeError) as exc:
        log.warning("%s: cannot fill %r from the match (%s: %s): sent as written", what, template,
                    type(exc).__name__, exc)
        return str(template)


def query_key_value(match: dict[str, Any], query_key: Sequence[str]) -> str | None:
    """The query_key value ElastAlert2's titles show: ``match[query_key]`` (a top-level key, as its
    ``matches[0].get(query_key)``), or for several keys their values joined by ``", "`` (the value
    ElastAlert2 stores in the match under the compound key)."""
    if not query_key:
        return None
    if len(query_key) == 1:
        value = match.get(query_key[0])
        return str(value) if value else None
    return ", ".join(str(lookup_field(match, k)) for k in query_key)
