"""``pipeline setup``: install the index template and the ILM policy, idempotently, and report.

Each object is compared with what the cluster has by the hash we store in
its ``_meta.pipeline_hash``, so running setup twice reports "unchanged" and
changes nothing, whatever way Elasticsearch normalises the bodies it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elasticsearch import NotFoundError

from pipeline.elasticsearch.datastream import FIXES, fetch_templates, sample_index_names, winning_template
from pipeline.elasticsearch.ilm import DEFAULT_POLICY_NAME, build_ilm_policy
from pipeline.elasticsearch.template import (
    DEFAULT_PRIORITY,
    body_hash,
    build_index_template,
    template_name,
)


@dataclass(frozen=True)
class SetupResult:
    kind: str      # "index template", "ILM policy", "warning", "dashboards"
    name: str
    status: str    # created, updated, unchanged, warning, imported
    detail: str = ""

    def line(self) -> str:
        if self.status == "warning":
            return f"WARNING ({self.name}): {self.detail}"
        return f"{self.kind} {self.name}: {self.status}" + (f" ({self.detail})" if self.detail else "")


def install_ilm_policy(client: Any, name: str, delete_after_days: int) -> SetupResult:
    body = build_ilm_policy(delete_after_days)
    wanted = body_hash(body["policy"])
    body["policy"]["_meta"]["pipeline_hash"] = wanted
    try:
        existing = client.ilm.get_lifecycle(name=name).body.get(name, {})
    except NotFoundError:
        existing = None
    if existing is not None and existing.get("policy", {}).get("_meta", {}).get("pipeline_hash") == wanted:
        return SetupResult("ILM policy", name, "unchanged", body["policy"]["_meta"]["description"])
    client.ilm.put_lifecycle(name=name, policy=body["policy"])
    return SetupResult("ILM policy", name, "created" if existing is None else "updated",
                       body["policy"]["_meta"]["description"])


def install_index_template(client: Any, index_pattern: str, *, policy: str | None, priority: int,
                           replicas: int | None = None) -> SetupResult:
    name = template_name(index_pattern)
    body = build_index_template([index_pattern], ilm_policy=policy, priority=priority, replicas=replicas)
    try:
        found = client.indices.get_index_template(name=name).body.get("index_templates", [])
    except NotFoundError:
        found = []
    existing = found[0]["index_template"] if found else None
    if existing is not None and existing.get("_meta", {}).get("pipeline_hash") == body["_meta"]["pipeline_hash"]:
        return SetupResult("index template", name, "unchanged", f"patterns {body['index_patterns']}")
    client.indices.put_index_template(name=name, **body)
    return SetupResult("index template", name, "created" if existing is None else "updated",
                       f"patterns {body['index_patterns']}, priority {priority}")


def check_data_streams(client: Any, index_pattern: str, own_template: str) -> list[SetupResult]:
    """Warn when daily index names would still become data streams, or when we shadow the built-in one."""
    templates = fetch_templates(client)
    results = []
    for sample in sample_index_names(index_pattern):
        winner = winning_template(sample, templates)
        if winner and winner[0] != own_template and "data_stream" in winner[1]:
            results.append(SetupResult("warning", winner[0], "warning",
                                       f"indices like {sample!r} would become data streams; {FIXES}"))
    builtin = templates.get("logs")
    if builtin and own_template in templates and "data_stream" in builtin:
        results.append(SetupResult(
            "warning", "logs", "warning",
            f"the built-in logs-*-* data stream template exists; {own_template} (priority "
            f"{templates[own_template].get('priority')}) takes precedence for {index_pattern}, so names like "
            "logs-app-2026.11.21 stay plain indices — Elastic Agent data streams named logs-*-* in this "
            "cluster would match it too; use --index-pattern 'pipeline-logs-*' with a matching index "
            "setting if you run Elastic Agent"))
    return results


def run_setup(client: Any, *, index_pattern: str = "logs-*", delete_after_days: int = 90,
              policy_name: str = DEFAULT_POLICY_NAME, priority: int = DEFAULT_PRIORITY,
              replicas: int | None = None, ilm: bool = True) -> list[SetupResult]:
    """Install (or update) the ILM policy and the index template; return what happened."""
    results = []
    if ilm:
        results.append(install_ilm_policy(client, policy_name, delete_after_days))
    template = install_index_template(client, index_pattern, policy=policy_name if ilm else None,
                                      priority=priority, replicas=replicas)
    results.append(template)
    results.extend(check_data_streams(client, index_pattern, template.name))
    return results
