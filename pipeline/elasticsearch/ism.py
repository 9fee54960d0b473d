"""OpenSearch Index State Management: the equivalent of our ILM policy, and its installation.

OpenSearch has no ILM; its ISM plugin (``opensearch-index-management``) manages indices with
a state machine instead of phases: hot → warm (after 7 days) → cold (after 30) → delete
(after ``--delete-after``), the same ages and actions as :mod:`pipeline.elasticsearch.ilm`.
ISM attaches a policy to new indices through the policy's own ``ism_template`` (not through
an index setting), so the index template carries no lifecycle setting on OpenSearch.

ISM policies have no ``_meta``: the hash that makes ``pipeline setup`` idempotent is kept in
the description. Updates need the stored ``_seq_no``/``_primary_term`` (optimistic locking).
"""

from __future__ import annotations

from typing import Any

from elasticsearch import BadRequestError, NotFoundError

from pipeline.elasticsearch.ilm import COLD_AFTER_DAYS, WARM_AFTER_DAYS
from pipeline.elasticsearch.template import body_hash

ISM_PATH = "/_plugins/_ism/policies/"
_JSON = {"accept": "application/json", "content-type": "application/json"}
ISM_MISSING = ("the Index State Management plugin is not installed on this OpenSearch cluster, so retention "
               "is not managed: old daily indices are never deleted. Install it "
               "(bin/opensearch-plugin install opensearch-index-management, included in the default "
               "distribution and in Amazon OpenSearch Service) and run `pipeline setup` again, or delete old "
               "indices with `pipeline archive --older-than N`")


def build_ism_policy(delete_after_days: int, index_patterns: list[str], *,
                     warm_after_days: int = WARM_AFTER_DAYS, cold_after_days: int = COLD_AFTER_DAYS,
                     priority: int = 100) -> dict[str, Any]:
    """The body of ``PUT _plugins/_ism/policies/<name>``; states past the delete age are left out."""
    stages: list[tuple[str, int, list[dict[str, Any]]]] = [("hot", 0, [{"index_priority": {"priority": 100}}])]
    if warm_after_days < delete_after_days:
        stages.append(("warm", warm_after_days, [{"index_priority": {"priority": 50}},
                                                 {"force_merge": {"max_num_segments": 1}}]))
    if cold_after_days < delete_after_days:
        stages.append(("cold", cold_after_days, [{"index_priority": {"priority": 0}}, {"read_only": {}}]))
    stages.append(("delete", delete_after_days, [{"delete": {}}]))
    states = []
    for i, (name, _, actions) in enumerate(stages):
        transitions = []
        if i + 1 < len(stages):
            next_name, next_age, _ = stages[i + 1]
            transitions.append({"state_name": next_name, "conditions": {"min_index_age": f"{next_age}d"}})
        states.append({"name": name, "actions": actions, "transitions": transitions})
    summary = (" → ".join(f"{name}" + (f" after {age}d" if age else "") for name, age, _ in stages))
    policy: dict[str, Any] = {
        "description": f"pipeline: {summary}",
        "default_state": "hot",
        "states": states,
        "ism_template": [{"index_patterns": list(index_patterns), "priority": priority}],
    }
    policy["description"] += f" (pipeline_hash {body_hash(policy)})"
    return {"policy": policy}


def ism_available(client: Any) -> bool:
    """Whether the ISM REST API answers (a cluster without the plugin has no handler for it)."""
    try:
        client.perform_request("GET", ISM_PATH + "_pipeline_probe", headers=_JSON)
    except NotFoundError:
        return True
    except BadRequestError as exc:
        if "no handler found" in str(exc.body):
            return False
        raise
    return True


def get_ism_policy(client: Any, name: str) -> dict[str, Any] | None:
    """``{"_seq_no", "_primary_term", "policy": {...}}`` or None."""
    try:
        return dict(client.perform_request("GET", ISM_PATH + name, headers=_JSON).body)
    except NotFoundError:
        return None


def put_ism_policy(client: Any, name: str, body: dict[str, Any], existing: dict[str, Any] | None) -> None:
    params = ""
    if existing is not None:
        params = f"?if_seq_no={existing['_seq_no']}&if_primary_term={existing['_primary_term']}"
    client.perform_request("PUT", ISM_PATH + name + params, headers=_JSON, body=body)
