"""The ``logs-*-*`` trap: Elasticsearch's built-in template turns such index names into data streams.

Elasticsearch ships an index template ``logs`` (pattern ``logs-*-*``,
priority 100, ``data_stream: {}``), so an index named ``logs-app-2026.11.21``
is created as a data stream, where plain ``index`` actions fail with
"only write ops with an op_type of create are allowed in data streams".
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from pipeline.event import Event
from pipeline.template import Template

_PLACEHOLDER = re.compile(r"%\{[^}]*\}")
FIXES = ("install our template with a higher priority for your index pattern (`pipeline setup --es URL "
         "--index-pattern 'logs-*'` uses priority 200), or name indices so they do not match logs-*-* "
         "(e.g. logs-2026.11.21 or app-logs-2026.11.21), or write with action => create")


def fetch_templates(client: Any) -> dict[str, dict[str, Any]]:
    """Every composable index template of the cluster: name -> body."""
    response = client.indices.get_index_template()
    return {t["name"]: t["index_template"] for t in response.body.get("index_templates", [])}


def sample_index_names(index: str) -> list[str]:
    """Index names an sprintf index setting (or an ``logs-*`` pattern) may produce."""
    if "%{" in index:
        rendered = Template(index).render(Event({"@timestamp": "2026-11-21T10:00:00Z"}))
        return [_PLACEHOLDER.sub("app", rendered)]
    if index.endswith("-20*"):  # our daily patterns: logs-20*, logs-*-20*
        return [index[:-3].replace("*", "app") + "-2026.11.21"]
    if "*" in index:
        return [index.replace("*", "2026.11.21"), index.replace("*", "app-2026.11.21")]
    return [index]


def winning_template(index_name: str, templates: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    """The template Elasticsearch would apply to a new index of this name (highest priority)."""
    best: tuple[str, dict[str, Any]] | None = None
    for name, body in templates.items():
        patterns = body.get("index_patterns", [])
        patterns = [patterns] if isinstance(patterns, str) else patterns
        if any(fnmatch.fnmatchcase(index_name, p) for p in patterns):
            if best is None or int(body.get("priority", 0)) > int(best[1].get("priority", 0)):
                best = (name, body)
    return best


def data_stream_conflict(index: str, templates: dict[str, dict[str, Any]], action: str = "index") -> str | None:
    """A message telling the user what to do when their indices would become data streams, else None."""
    if action == "create":
        return None
    for sample in sample_index_names(index):
        winner = winning_template(sample, templates)
        if winner and "data_stream" in winner[1]:
            name, body = winner
            return (f"index names like {sample!r} match the index template {name!r} (patterns "
                    f"{body.get('index_patterns')}, priority {body.get('priority', 0)}), which creates data "
                    f"streams where '{action}' actions fail. Fix: {FIXES}.")
    return None
