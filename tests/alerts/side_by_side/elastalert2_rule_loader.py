"""Load rule files with ElastAlert2's own loader and record what it makes of each one.

Not a test (it needs ElastAlert2, which is not a dependency): run it in a separate venv,

    python3 -m venv /tmp/ea2 && /tmp/ea2/bin/pip install elastalert2==2.19.0
    /tmp/ea2/bin/python tests/alerts/side_by_side/elastalert2_rule_loader.py RULE_DIR OUT.json

For every ``*.yaml``/``*.yml`` file of RULE_DIR it runs ``FileRulesLoader.load_configuration``
(schema, time options, defaults from the global config, the rule type's ``__init__``, each
alerter's required options), as ``elastalert`` does at start-up, with the minimal global config
below, and writes either ``{"accepted": false, "reason": ...}`` or the rule's meaning in the
normalised form of ``tests/alerts/rule_corpus_meaning.py`` plus ``es_query``: the search body
``ElastAlerter.get_query`` builds from the rule's filter for a fixed window.
test_rule_corpus.py compares our loader against these records (kept in rule_corpus/MANIFEST.json).
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
import sys
from pathlib import Path
from typing import Any

import yaml
from elastalert import ruletypes
from elastalert.elastalert import ElastAlerter
from elastalert.loaders import FileRulesLoader
from elastalert.util import EAException, dt_to_ts

# new_term's __init__ searches Elasticsearch for the terms already known; without a cluster that is a
# connection error, not a refusal of the rule. Its own get_all_terms runs against a client that answers
# nothing and records the field each terms aggregation asks for (use_keyword_postfix at work).


class _TermsRecorder:
    def __init__(self) -> None:
        self.fields: list[str] = []

    def search(self, body: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.fields.append(body["aggs"]["filtered"]["aggs"]["values"]["terms"]["field"])
        return {}


def _recording_client(_rule: dict[str, Any]) -> _TermsRecorder:
    return _TermsRecorder()


ruletypes.elasticsearch_client = _recording_client

# The global config: the two required time settings equal to our rule defaults (run_every 1 minute,
# buffer_time 45 minutes), so that what differs comes from the rule file.
GLOBAL = {"es_host": "localhost", "es_port": 9200, "writeback_index": "elastalert_status",
          "rules_folder": ".", "run_every": datetime.timedelta(minutes=1),
          "buffer_time": datetime.timedelta(minutes=45), "max_query_size": 10000,
          "alert_time_limit": datetime.timedelta(days=2), "old_query_limit": datetime.timedelta(weeks=1)}

WINDOW = (datetime.datetime(2026, 12, 1, 10, 0, tzinfo=datetime.UTC),
          datetime.datetime(2026, 12, 1, 10, 5, tzinfo=datetime.UTC))

TYPE_NAMES = {cls.__name__: name for name, cls in FileRulesLoader.rules_mapping.items()}
PERIODS = ("timeframe", "realert", "exponential_realert", "query_delay", "buffer_time", "run_every",
           "terms_window_size", "bucket_interval")
PLAIN = ("index", "num_events", "threshold", "spike_height", "spike_type", "threshold_ref", "threshold_cur",
         "cardinality_field", "max_cardinality", "min_cardinality", "metric_agg_key", "metric_agg_type",
         "max_threshold", "min_threshold", "ignore_null", "min_percentage", "max_percentage",
         "use_count_query", "use_terms_query", "timestamp_field", "top_count_keys", "alert_subject",
         "alert_text", "alert_text_type", "alert_text_args", "alert_subject_args", "is_enabled")
LISTS = ("blacklist", "whitelist", "fields", "match_bucket_filter", "filter")
# Per ElastAlert2 alerter, the options recorded (ElastAlert2's names; lists as lists).
ALERTER_KEYS = {
    "email": ("email", "cc", "bcc", "from_addr", "smtp_host", "smtp_port", "smtp_ssl", "email_reply_to"),
    "slack": ("slack_webhook_url", "slack_channel_override", "slack_username_override", "slack_emoji_override"),
    "post": ("http_post_url", "http_post_headers", "http_post_payload", "http_post_static_payload",
             "http_post_all_values"),
    "post2": ("http_post2_url", "http_post2_headers"),
    "dingtalk": ("dingtalk_access_token", "dingtalk_msgtype", "dingtalk_sign"),
    "workwechat": ("work_wechat_bot_id", "work_wechat_msgtype"),
    "opsgenie": ("opsgenie_key", "opsgenie_addr", "opsgenie_account", "opsgenie_recipients", "opsgenie_teams",
                 "opsgenie_tags", "opsgenie_priority", "opsgenie_alias", "opsgenie_source", "opsgenie_entity",
                 "opsgenie_message", "opsgenie_subject", "opsgenie_description", "opsgenie_proxy"),
    "discord": ("discord_webhook_url", "discord_emoji_title", "discord_embed_color", "discord_embed_footer",
                "discord_embed_icon_url", "discord_proxy", "discord_proxy_login"),
}
AS_LIST = {"email", "cc", "bcc", "slack_webhook_url", "http_post_url"}  # the alerters' __init__ make lists


def seconds(value: Any) -> float | None:
    return value.total_seconds() if isinstance(value, datetime.timedelta) else value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def meaning(rule: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """The normalised meaning: only what the rule file sets, or ElastAlert2 derives, is compared."""
    out: dict[str, Any] = {"type": TYPE_NAMES.get(type(rule["type"]).__name__, raw.get("type"))}
    for key in PERIODS:
        if key in rule and rule[key] is not None:
            out[key] = seconds(rule["bucket_interval_timedelta"] if key == "bucket_interval" else rule[key])
    for key in PLAIN:
        if key in raw:
            out[key] = rule[key]
    for key in LISTS:
        if key in raw:
            out[key] = as_list(rule[key])
    aggregation = rule.get("aggregation")
    if isinstance(aggregation, dict):
        out["aggregation"] = {"schedule": aggregation["schedule"]}
    elif aggregation:
        out["aggregation"] = {"seconds": seconds(aggregation)}
    if "compare_key" in raw:
        out["compare_key"] = rule.get("compound_compare_key") or as_list(rule["compare_key"])
    if "query_key" in rule:
        out["query_key"] = rule.get("compound_query_key") or [rule["query_key"]]
    if "aggregation_key" in raw:
        out["aggregation_key"] = rule.get("compound_aggregation_key") or [rule["aggregation_key"]]
    alerters = []
    for entry in as_list(raw["alert"]):
        name, own = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
        config = {**rule, **(own or {})}
        keys = {k: (as_list(config[k]) if k in AS_LIST else config[k])
                for k in ALERTER_KEYS.get(name, ()) if k in config}
        alerters.append([name, keys])
    out["alert"] = alerters
    return out


def main(folder: Path, out: Path) -> None:
    logging.disable(logging.CRITICAL)
    records = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml")):
        loader = FileRulesLoader(copy.deepcopy(GLOBAL))
        try:
            raw = loader.load_yaml(str(path))
            rule = loader.load_configuration(str(path), copy.deepcopy(GLOBAL))
        except (EAException, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = f"{type(exc).__name__}: {exc}".replace(str(path), path.name).splitlines()
            records[path.name] = {"accepted": False, "reason": " ".join(line.strip() for line in reason[:3])}
            continue
        record = {"accepted": True, **meaning(rule, raw)}
        body = ElastAlerter.get_query(rule["filter"], WINDOW[0], WINDOW[1], timestamp_field=rule["timestamp_field"],
                                      to_ts_func=dt_to_ts)
        record["es_query"] = body["query"]
        if isinstance(rule["type"], ruletypes.NewTermsRule):  # the fields of the look-back's terms
            record["new_term_terms_fields"] = list(dict.fromkeys(rule["type"].es.fields))
        records[path.name] = json.loads(json.dumps(record, default=str))
    out.write_text(json.dumps(records, indent=1, sort_keys=True))
    accepted = sum(r["accepted"] for r in records.values())
    print(f"{len(records)} rules: {accepted} accepted, {len(records) - accepted} refused")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
