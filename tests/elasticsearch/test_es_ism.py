"""The ISM policy body (OpenSearch's ILM) and its idempotent installation.

Our test node has no ISM plugin (docs/services.md), so the body is checked against the rules of
index-management's policy parser (Policy/State/Transition/ISMTemplate: known fields only, unique state
names, transitions and default state pointing at existing states, one condition per transition), and the
install path against a stand-in that answers the ISM REST API's shapes (404 for a missing policy,
``_seq_no``/``_primary_term`` on GET, optimistic-locking parameters on update).
"""

from __future__ import annotations

from typing import Any

from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import BadRequestError, NotFoundError

from pipeline.elasticsearch.ism import build_ism_policy, ism_available
from pipeline.elasticsearch.setup import install_ism_policy

_POLICY_FIELDS = {"description", "default_state", "states", "ism_template", "error_notification",
                  "schema_version", "last_updated_time", "policy_id"}
_ACTIONS = {"rollover", "delete", "force_merge", "index_priority", "read_only", "read_write", "replica_count",
            "close", "open", "snapshot", "allocation", "notification", "rollup", "shrink", "transform"}
_CONDITIONS = {"min_index_age", "min_doc_count", "min_size", "cron", "min_rollover_age", "min_primary_shard_size"}


def assert_valid_ism_policy(body: dict[str, Any]) -> None:
    """What OpenSearch's index-management parser refuses, as assertions."""
    assert set(body) == {"policy"}
    policy = body["policy"]
    assert set(policy) <= _POLICY_FIELDS, f"Invalid field: {set(policy) - _POLICY_FIELDS} found in Policy"
    assert isinstance(policy["description"], str) and policy["default_state"]
    names = [s["name"] for s in policy["states"]]
    assert names and len(names) == len(set(names)), "Policy cannot have duplicate state names"
    assert policy["default_state"] in names, "Policy must have a valid default state"
    for state in policy["states"]:
        assert set(state) <= {"name", "actions", "transitions"}
        for action in state["actions"]:
            assert len(action) == 1 and set(action) <= _ACTIONS, action
        for transition in state["transitions"]:
            assert set(transition) <= {"state_name", "conditions"}
            assert transition["state_name"] in names, "transition pointing to a nonexistent state"
            assert len(transition.get("conditions", {})) <= 1 and set(transition["conditions"]) <= _CONDITIONS
    for template in policy.get("ism_template", []):
        assert set(template) <= {"index_patterns", "priority", "last_updated_time"}
        assert all(not p.startswith(".") for p in template["index_patterns"])


def test_policy_moves_hot_warm_cold_then_deletes_at_the_retention_age():
    body = build_ism_policy(90, ["logs-20*", "logs-*-20*"])
    assert_valid_ism_policy(body)
    states = {s["name"]: s for s in body["policy"]["states"]}
    assert list(states) == ["hot", "warm", "cold", "delete"]
    assert states["hot"]["transitions"] == [{"state_name": "warm", "conditions": {"min_index_age": "7d"}}]
    assert states["cold"]["transitions"] == [{"state_name": "delete", "conditions": {"min_index_age": "90d"}}]
    assert states["delete"]["actions"] == [{"delete": {}}]
    assert body["policy"]["ism_template"] == [{"index_patterns": ["logs-20*", "logs-*-20*"], "priority": 100}]


def test_short_retention_skips_the_later_states():
    body = build_ism_policy(5, ["logs-20*"])
    assert_valid_ism_policy(body)
    assert [s["name"] for s in body["policy"]["states"]] == ["hot", "delete"]
    assert body["policy"]["states"][0]["transitions"][0]["conditions"] == {"min_index_age": "5d"}


def _meta(status: int) -> ApiResponseMeta:
    return ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                           node=NodeConfig("http", "127.0.0.1", 9200))


class IsmStandIn:
    """Answers _plugins/_ism/policies/<id> as the ISM plugin does; records every request."""

    class Response:
        def __init__(self, body: dict[str, Any]) -> None:
            self.body = body

    def __init__(self, installed: bool = True) -> None:
        self.installed = installed
        self.policies: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []

    def perform_request(self, method: str, path: str, headers: Any = None, body: Any = None) -> Response:
        self.calls.append((method, path))
        if not self.installed:
            raise BadRequestError(f"no handler found for uri [{path}] and method [{method}]", _meta(400),
                                  {"error": f"no handler found for uri [{path}] and method [{method}]"})
        name, _, query = path.rsplit("/", 1)[1].partition("?")
        if method == "GET":
            if name not in self.policies:
                raise NotFoundError("Policy not found", _meta(404), {"error": {"reason": "Policy not found"}})
            return self.Response(self.policies[name])
        stored = self.policies.get(name)
        if stored is not None:
            assert query == f"if_seq_no={stored['_seq_no']}&if_primary_term=1", "update without optimistic locking"
        assert_valid_ism_policy(body)
        self.policies[name] = {"_id": name, "_seq_no": (stored["_seq_no"] + 1) if stored else 0,
                               "_primary_term": 1, "policy": {**body["policy"], "policy_id": name}}
        return self.Response({"_id": name})


def test_install_creates_then_is_unchanged_then_updates_with_locking():
    cluster = IsmStandIn()
    assert ism_available(cluster)
    assert install_ism_policy(cluster, "pipeline-logs", 90, ["logs-20*"]).status == "created"
    assert install_ism_policy(cluster, "pipeline-logs", 90, ["logs-20*"]).status == "unchanged"
    assert install_ism_policy(cluster, "pipeline-logs", 30, ["logs-20*"]).status == "updated"
    assert [m for m, _ in cluster.calls].count("PUT") == 2


def test_a_cluster_without_the_plugin_is_told_apart():
    assert not ism_available(IsmStandIn(installed=False))
