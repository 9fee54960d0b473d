"""Check that every field a dashboard aggregates, filters or shows is mapped with a usable type.

For the log indices the truth is our index template (``pipeline.elasticsearch.template``); other
data views (``pipeline-monitoring-*``) get Elasticsearch's default dynamic mapping, where a
string is ``text`` with a ``.keyword`` sub-field: so a terms panel must name ``x.keyword`` there,
and a panel never comes up empty because of a ``.keyword`` mismatch.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from pipeline.elasticsearch.template import (
    DEFAULT_INDEX_PATTERN,
    TEXT_WITH_KEYWORD,
    build_index_template,
    mapped_type,
)
from pipeline.kibana.specs import Dashboard, Panel
from pipeline.kibana.visstate import fields_used

NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}
AGGREGATABLE = NUMERIC | {"keyword", "constant_keyword", "ip", "date", "date_nanos", "boolean", "wildcard"}
# Elasticsearch's defaults for an index no template covers (strings: text + .keyword).
DEFAULT_DYNAMIC: dict[str, Any] = {"template": {"mappings": {"dynamic_templates": [
    {"strings": {"match_mapping_type": "string", "mapping": TEXT_WITH_KEYWORD}}]}}}
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_KQL_FIELD = re.compile(r"(?<![\w.@*-])([A-Za-z_@][\w.@-]*)\s*(?::|<=|>=|<|>)")


def template_for(pattern: str) -> tuple[dict[str, Any], bool]:
    """The mapping source for indices matched by a data view ``pattern``, and whether it is explicit.

    Explicit (our index template): a field must be listed in its properties, so a typo is caught
    instead of silently matching a dynamic template.
    """
    if pattern == DEFAULT_INDEX_PATTERN or fnmatch.fnmatch(pattern.rstrip("*") + "x", DEFAULT_INDEX_PATTERN):
        return build_index_template(), True
    return DEFAULT_DYNAMIC, False


def explicit_type(template: dict[str, Any], name: str) -> str | None:
    """The type of ``name`` (``a.b``, or ``a.b.keyword`` for a sub-field) in the explicit properties."""
    node: dict[str, Any] = {"properties": template.get("template", {}).get("mappings", {}).get("properties", {})}
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part in node.get("properties", {}):
            node = node["properties"][part]
        elif i == len(parts) - 1 and part in node.get("fields", {}):
            return str(node["fields"][part].get("type"))
        else:
            return None
    return str(node["type"]) if "type" in node else "object"


def kql_fields(query: str) -> list[str]:
    """Field names a KQL query filters on (``a.b: x``, ``c >= 3``); free-text terms have none."""
    return _KQL_FIELD.findall(_QUOTED.sub('""', query))


def field_type(template: dict[str, Any], name: str, role: str, time_field: str, strict: bool = False) -> str | None:
    sample: Any = 1 if role == "numeric" else "text"
    if strict:
        return explicit_type(template, name)
    if name == time_field:
        return "date"  # no template: Elasticsearch's date detection maps the ISO timestamps
    return mapped_type(template, name, sample)


def _problem(field: str, role: str, found: str | None) -> str | None:
    if found is None or found == "object":
        return f"'{field}' is not mapped by the index template"
    if role == "numeric" and found not in NUMERIC:
        return f"'{field}' is {found}, not a number"
    if role == "date" and found not in ("date", "date_nanos"):
        return f"'{field}' is {found}, not a date"
    if role in ("terms", "any") and found not in AGGREGATABLE:
        hint = f" (use '{field}.keyword')" if found == "text" else ""
        return f"'{field}' is {found}, which cannot be aggregated{hint}"
    return None


def _panel_fields(dashboard: Dashboard, panel: Panel) -> list[tuple[str, str]]:
    time_field = dashboard.data_view.time_field
    used = fields_used(panel, time_field) if panel.type != "search" else []
    queries = [panel.query] + [q for _, q in panel.split_filters]
    used += [(f, "filter") for q in queries for f in kql_fields(q)]
    used += [(c, "filter") for c in panel.columns] + ([(panel.sort[0], "terms")] if panel.type == "search" else [])
    return used


def check_dashboard(dashboard: Dashboard) -> list[str]:
    """Problems with the fields of one dashboard, each as ``file:line: panel: problem``."""
    template, strict = template_for(dashboard.data_view.pattern)
    time_field = dashboard.data_view.time_field
    problems = []
    if field_type(template, time_field, "date", time_field, strict) not in ("date", "date_nanos"):
        problems.append(f"{dashboard.source}:1: time field '{time_field}' is not a date")
    for field in kql_fields(dashboard.query):
        if field_type(template, field, "filter", time_field, strict) in (None, "object"):
            problems.append(f"{dashboard.source}:1: dashboard query: '{field}' is not mapped")
    for panel in dashboard.panels:
        for field, role in _panel_fields(dashboard, panel):
            found = field_type(template, field, role, time_field, strict)
            problem = _problem(field, role, found) if role != "filter" else (
                f"'{field}' is not mapped" if found in (None, "object") else None)
            if problem:
                problems.append(f"{dashboard.source}:{panel.line}: panel '{panel.title}': {problem}")
    return problems
