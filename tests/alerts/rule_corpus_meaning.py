"""What our loader makes of a rule file, in the normalised form that
``side_by_side/elastalert2_rule_loader.py`` records for ElastAlert2, and the comparison of the two.

Used by test_rule_corpus.py (the kept rules against MANIFEST.json) and, by hand, for rules whose
licence does not let us keep them:

    PYTHONPATH=. python tests/alerts/rule_corpus_meaning.py RULE_DIR EA2_RECORDS.json
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from pipeline.alerts import elastalert_keys
from pipeline.alerts.rule import AlertSettings, Rule, read_rule_file
from pipeline.plugin import Secret

# The options compared, by ElastAlert2 name; each is compared only when ElastAlert2's record has it.
PERIODS = ("timeframe", "realert", "exponential_realert", "query_delay", "buffer_time", "run_every",
           "terms_window_size", "bucket_interval")
PLAIN = ("index", "num_events", "threshold", "spike_height", "spike_type", "threshold_ref", "threshold_cur",
         "cardinality_field", "max_cardinality", "min_cardinality", "metric_agg_key", "metric_agg_type",
         "max_threshold", "min_threshold", "ignore_null", "min_percentage", "max_percentage",
         "use_count_query", "use_terms_query", "timestamp_field", "top_count_keys", "alert_subject",
         "alert_text", "alert_text_type", "alert_text_args", "alert_subject_args", "is_enabled",
         "blacklist", "whitelist", "fields", "match_bucket_filter", "filter", "compare_key", "query_key",
         "aggregation_key")

# Types whose ElastAlert2 class ignores timeframe: elastalert.py reads it for these only to size the
# top_count_keys window (get_top_counts) and with scan_entire_timeframe (refused here).
TIMEFRAME_FOR_TOP_COUNTS_ONLY = ("any", "blacklist", "whitelist", "new_term", "metric_aggregation",
                                 "percentage_match")


def _plain(value: Any) -> Any:
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, float) and value.is_integer():
        return value
    return value


def ea2_alerter_options(name: str, alerter: Any) -> dict[str, Any]:
    """Our alerter's options under ElastAlert2's names (the inverse of elastalert_keys.ALERTERS)."""
    spec = elastalert_keys.ALERTERS.get(name)
    if spec is None:
        return {}
    out = {}
    for theirs, option in spec.options.items():
        value = getattr(alerter.options, option, None)
        if value is not None:
            out[theirs] = [value.reveal()] if theirs == "slack_webhook_url" else _plain(value)
    return out


def our_record(path: Path) -> dict[str, Any]:
    """``{"accepted": False, "reason": ...}`` or the rule's meaning, as the ElastAlert2 record."""
    logging.disable(logging.WARNING)
    try:
        rules, errors = read_rule_file(path, AlertSettings())
    finally:
        logging.disable(logging.NOTSET)
    if errors or len(rules) != 1:
        return {"accepted": False, "reason": "; ".join(e.render() for e in errors)}
    return meaning(rules[0])


def meaning(rule: Rule) -> dict[str, Any]:
    opts = rule.options
    out: dict[str, Any] = {"accepted": True, "type": opts.type}
    for key in PERIODS + PLAIN:
        if hasattr(opts, key):
            value = getattr(opts, key)
            out[key] = float(value) if key in PERIODS and value is not None else _plain(value)
    if opts.aggregation is not None:
        out["aggregation"] = ({"schedule": opts.aggregation.schedule} if opts.aggregation.schedule else
                              {"seconds": float(opts.aggregation.period)})
    out["alert"] = [[written, ea2_alerter_options(written, alerter)] for written, (_, alerter) in
                    zip(rule_alert_names(rule), rule.alerters, strict=True)]
    out["es_clauses"] = (rule.query or {"bool": {"filter": []}})["bool"]["filter"]
    if opts.type == "new_term":  # the fields the first look-back aggregates on Elasticsearch
        from pipeline.alerts.backends.base import keyword_postfix

        fields = opts.fields or opts.query_key
        out["new_term_terms_fields"] = [keyword_postfix(f) if opts.use_keyword_postfix else f for f in fields]
    return out


def rule_alert_names(rule: Rule) -> list[str]:
    """The alerter names as the rule file writes them (ElastAlert2's, e.g. ``debug``)."""
    from pipeline.alerts.yaml_source import load_yaml

    data = load_yaml(rule.source)
    return elastalert_keys.alerter_names(data.get("alert"))


def ea2_clauses(record: dict[str, Any]) -> list[Any]:
    """The filter clauses of ElastAlert2's search body, without its time range."""
    must = record["es_query"]["bool"]["filter"]["bool"]["must"]
    return [c for c in must if not (isinstance(c, dict) and "range" in c and len(must) and c is must[0])]


def differences(ea2: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """How our record differs from ElastAlert2's, one line each (empty when they agree)."""
    if ea2["accepted"] != ours["accepted"]:
        why = ours.get("reason") or ea2.get("reason")
        return [f"ElastAlert2 {'accepts' if ea2['accepted'] else 'refuses'}, we "
                f"{'accept' if ours['accepted'] else 'refuse'}: {why}"]
    if not ea2["accepted"]:
        return []
    out = []
    for key, theirs in ea2.items():
        if key in ("accepted", "es_query", "alert"):
            continue
        mine = ours.get(key)
        if key == "terms_window_size" and isinstance(theirs, dict):
            theirs = sum(v * {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}[u]
                         for u, v in theirs.items())
        if key == "timeframe" and mine is None and ours["type"] in TIMEFRAME_FOR_TOP_COUNTS_ONLY \
                and not ea2.get("top_count_keys"):
            continue
        if mine != theirs and not (isinstance(mine, float) and isinstance(theirs, (int, float))
                                   and mine == float(theirs)):
            out.append(f"{key}: ElastAlert2 {theirs!r}, ours {mine!r}")
    if [a[0] for a in ea2["alert"]] != [a[0] for a in ours["alert"]]:
        out.append(f"alert: ElastAlert2 {ea2['alert']!r}, ours {ours['alert']!r}")
    else:
        for (name, theirs), (_, mine) in zip(ea2["alert"], ours["alert"], strict=True):
            for key, value in theirs.items():
                if mine.get(key) != value:
                    out.append(f"alerter {name} {key}: ElastAlert2 {value!r}, ours {mine.get(key)!r}")
    if "es_query" in ea2 and ea2_clauses(ea2) != ours["es_clauses"]:
        out.append(f"query clauses: ElastAlert2 {ea2_clauses(ea2)!r}, ours {ours['es_clauses']!r}")
    return out


def main(folder: Path, records: Path) -> None:
    ea2 = json.loads(records.read_text())
    agree = 0
    for name, theirs in sorted(ea2.items()):
        diffs = differences(theirs, our_record(folder / name))
        agree += not diffs
        for line in diffs:
            print(f"{name}: {line}")
    print(f"{agree} of {len(ea2)} rules agree")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
