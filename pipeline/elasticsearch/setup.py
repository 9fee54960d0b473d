"""``pipeline setup``: install the index template and the retention policy, idempotently, and report.

The retention policy is an ILM policy on Elasticsearch and an ISM policy on OpenSearch (when
its Index State Management plugin is installed; otherwise a warning says retention is not
managed). The product is detected on first contact (:func:`pipeline.elasticsearch.client.product_of`).

Each object is compared with what the cluster has by the hash we store in
its ``_meta.pipeline_hash``, so running setup twice reports "unchanged" and
changes nothing, whatever way Elasticsearch normalises the bodies it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elasticsearch import NotFoundError

from pipeline.elasticsearch.client import product_of
from pipeline.elasticsearch.datastream import FIXES, fetch_templates, sample_index_names, winning_template
from pipeline.elasticsearch.ilm import DEFAULT_POLICY_NAME, build_ilm_policy
from pipeline.elasticsearch.ism import (
    ISM_MISSING,
    build_ism_policy,
    get_ism_policy,
    ism_available,
    put_ism_policy,
)
from pipeline.elasticsearch.template import (
    DEFAULT_PRIORITY,
    body_hash,
    build_index_template,
    split_patterns,
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


def install_ism_policy(client: Any, name: str, delete_after_days: int, index_patterns: list[str]) -> SetupResult:
    """OpenSearch's equivalent of :func:`install_ilm_policy` (the hash lives in the description)."""
    body = build_ism_policy(delete_after_days, index_patterns)
    description = body["policy"]["description"]
    existing = get_ism_policy(client, name)
    if existing is not None and existing.get("policy", {}).get("description") == description:
        return SetupResult("ISM policy", name, "unchanged", description)
    put_ism_policy(client, name, body, existing)
    return SetupResult("ISM policy", name, "created" if existing is None else "updated", description)


def install_index_template(client: Any, index_pattern: str | list[str], *, policy: str | None, priority: int,
                           replicas: int | None = None) -> SetupResult:
    patterns = split_patterns(index_pattern) if isinstance(index_pattern, str) else list(index_pattern)
    name = template_name(patterns)
    body = build_index_template(patterns, ilm_policy=policy, priority=priority, replicas=replicas)
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


def check_data_streams(client: Any, index_pattern: str | list[str], own_template: str) -> list[SetupResult]:
    """Warn when daily index names would still become data streams, or when we shadow the built-in one."""
    templates = fetch_templates(client)
    results = []
    patterns = split_patterns(index_pattern) if isinstance(index_pattern, str) else index_pattern
    samples = [sample for pattern in patterns for sample in sample_index_names(pattern)]
    for sample in samples:
        winner = winning_template(sample, templates)
        if winner and winner[0] != own_template and "data_stream" in winner[1]:
            results.append(SetupResult("warning", winner[0], "warning",
                                       f"indices like {sample!r} would become data streams; {FIXES}"))
    builtin = templates.get("logs")
    own_patterns = templates.get(own_template, {}).get("index_patterns", [])
    if builtin and own_template in templates and "data_stream" in builtin and "logs-*" in own_patterns:
        results.append(SetupResult(
            "warning", "logs", "warning",
            f"the built-in logs-*-* data stream template exists; {own_template} (priority "
            f"{templates[own_template].get('priority')}) takes precedence for {index_pattern}, so names like "
            "logs-app-2026.11.21 stay plain indices — Elastic Agent data streams named logs-*-* in this "
            "cluster would match it too; leave --index-pattern at its default (logs-20*,logs-*-20*: daily "
            "indices only) if you run Elastic Agent"))
    return results


def run_setup(client: Any, *, index_pattern: str | None = None, delete_after_days: int = 90,
              policy_name: str = DEFAULT_POLICY_NAME, priority: int = DEFAULT_PRIORITY,
              replicas: int | None = None, ilm: bool = True) -> list[SetupResult]:
    """Install (or update) the retention policy and the index template; return what happened.

    ``index_pattern`` is one pattern or several separated by commas; None means our daily indices.
    ``ilm=False`` skips the retention policy on either product.
    """
    patterns = split_patterns(index_pattern)
    product = product_of(client)
    results = []
    ilm_policy = None
    if ilm and product.is_opensearch:
        if ism_available(client):
            results.append(install_ism_policy(client, policy_name, delete_after_days, patterns))
        else:
            results.append(SetupResult("warning", "retention", "warning", ISM_MISSING))
    elif ilm:
        results.append(install_ilm_policy(client, policy_name, delete_after_days))
        ilm_policy = policy_name
    template = install_index_template(client, patterns, policy=ilm_policy, priority=priority, replicas=replicas)
    results.append(template)
    results.extend(check_data_streams(client, patterns, template.name))
    return results
