"""Kibana Discover links for the window and filter of an alert (rison-encoded app state)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pipeline.alerts.query import Query, iso, to_query_string

_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def rison(value: Any) -> str:
    """Encode a value in rison, the URL-friendly JSON Kibana uses for ``_g`` and ``_a``."""
    if value is True:
        return "!t"
    if value is False:
        return "!f"
    if value is None:
        return "!n"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, dict):
        return "(" + ",".join(f"{_key(k)}:{rison(v)}" for k, v in value.items()) + ")"
    if isinstance(value, (list, tuple)):
        return "!(" + ",".join(rison(v) for v in value) + ")"
    text = str(value)
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


def _key(key: Any) -> str:
    text = str(key)
    return text if _ID.match(text) else rison(text)


def discover_url(app_url: str, index_pattern_id: str | None, start: datetime, end: datetime,
                 query: Query | None) -> str:
    """``<app_url>#/?_g=(time:...)&_a=(query:...)`` showing the events of the alert."""
    global_state = {"filters": [], "time": {"from": iso(start), "to": iso(end)}}
    app_state: dict[str, Any] = {"columns": ["_source"], "filters": [],
                                 "query": {"language": "lucene", "query": to_query_string(query)}}
    if index_pattern_id:
        app_state["index"] = index_pattern_id
    safe = "!'(),:*-._~/"
    return (f"{app_url.rstrip('/')}#/?_g={quote(rison(global_state), safe=safe)}"
            f"&_a={quote(rison(app_state), safe=safe)}")
