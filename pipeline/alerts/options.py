"""The options every rule has (ElastAlert's keys); each rule type adds its own in a subclass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pipeline.alerts.periods import Aggregation, Period
from pipeline.plugin import option

#: ElastAlert2's alert_text_type values (elastalert/schema.yaml); see pipeline/alerts/elastalert_text.py.
ElastAlertTextType = Literal["alert_text_only", "exclude_fields", "aggregation_summary_only", "alert_text_jinja"]


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


@dataclass(frozen=True, kw_only=True)
class RuleOptions:
    """Keys shared by all rule types; names and meanings follow ElastAlert2."""

    name: str = option(doc="Unique rule name (used for silences and state).")
    type: str = option(doc="Rule type: any, frequency, spike, flatline, blacklist, whitelist, change, "
                           "new_term, cardinality, metric_aggregation, percentage_match.")
    index: str = option(doc="Index pattern: wildcards (logs-*) or a dated pattern (logs-%{+YYYY.MM.dd}, "
                            "logs-%Y.%m.%d) searched only for the days in the query window.")
    alert: list[Any] = option(doc="Alerters, e.g. [email, {dingtalk: {msgtype: markdown}}]; their options "
                                  "merge over the alerters section of the alerts settings file.")
    filter: list[Any] = option([], "Elasticsearch query clauses (query_string, term, terms, range, match, "
                                   "wildcard, exists, bool) or query strings; all must match.")
    timestamp_field: str = option("@timestamp", "The event time field.")
    query_key: list[str] = option([], "Field(s) splitting counts and silences: one value per group "
                                      "(several fields combine).", aliases=("compound_query_key",))
    realert: Period = option(Period(60), "Silence after an alert, per rule and query_key value "
                                         "(e.g. {minutes: 10}); 0 alerts every match.")
    exponential_realert: Period | None = option(None, "When set, a repeating alert doubles its silence "
                                                      "each time, up to this period.")
    aggregation: Aggregation | None = option(None, "Collect matches for a period ({minutes: 10}) or until "
                                                   "a cron schedule ({schedule: '*/10 * * * *'}), then "
                                                   "send one alert.")
    aggregation_key: list[str] = option([], "Field(s) that split aggregations into separate alerts.")
    summary_table_fields: list[str] = option([], "Fields counted in the summary table of aggregated "
                                                 "alerts.")
    buffer_time: Period = option(Period(2700), "How far back the first run of a document rule (any, "
                                               "blacklist, ...) looks when it has no saved state.")
    query_delay: Period = option(Period(0), "Query up to now minus this delay (events arrive late).")
    run_every: Period = option(Period(60), "How often the rule is evaluated.", check=_positive)
    old_query_limit: Period = option(Period(86400), "Bounded catch-up: after a downtime, evaluate at most "
                                                    "this much of the missed time (older time is skipped "
                                                    "and logged).")
    priority: str = option("P3", "Priority shown in alerts (P1, P2 ... or a number).")
    owner: str = option("", "Who owns the rule (shown in alerts).")
    description: str = option("", "What the rule watches (shown in alerts).")
    include: list[str] = option([], "Fields kept in matches and shown in alerts (default: all).")
    top_count_keys: list[str] = option([], "For each match, the most common values of these fields "
                                           "in the window.")
    top_count_number: int = option(5, "How many values top_count_keys lists.", check=_positive)
    terms_size: int = option(500, "Most query_key values (buckets) considered per query.", check=_positive)
    max_query_size: int = option(10000, "Most documents a document rule reads per run step.",
                                 check=_positive)
    alert_subject: str | None = option(None, "Subject: a jinja2 template (sandboxed).")
    alert_text: str | None = option(None, "Body: a jinja2 template (sandboxed); see docs/alerts.md for "
                                          "the variables.")
    alert_subject_args: list[str] | None = option(None, "ElastAlert2's subject arguments: alert_subject is then a "
                                                        "Python format string ({0}, {1} ...) of these match "
                                                        "fields (or rule options).")
    alert_text_args: list[str] | None = option(None, "ElastAlert2's text arguments: alert_text is then a Python "
                                                     "format string of these match fields (or rule options).")
    alert_text_type: ElastAlertTextType | None = option(
        None, "ElastAlert2's body layout (alert_text_only, exclude_fields, aggregation_summary_only, "
              "alert_text_jinja); with it, or with *_args, texts follow ElastAlert2 (see docs/alerts.md).")
    alert_missing_value: str = option("<MISSING VALUE>", "What ElastAlert2-style *_args show for a field the "
                                                         "match lacks.")
    alert_language: Literal["en", "zh"] = option("en", "Language of the default subject and text.")
    timezone: str = option("UTC", "Time zone of times shown in alerts (e.g. Asia/Shanghai).")
    kibana_discover_app_url: str | None = option(None, "Kibana Discover URL "
                                                       "(http://kibana:5601/app/discover) for links.")
    kibana_discover_index_pattern_id: str | None = option(None, "Kibana data view id used in links.")
    alert_time_limit: Period = option(Period(172800), "Unsent alerts are retried with backoff until "
                                                      "they are this old, then dropped and logged.")
    max_query_failures: int = option(5, "Consecutive failed runs after which the rule is disabled "
                                        "with the reason recorded.", check=_positive)
    is_enabled: bool = option(True, "false keeps the rule loaded but never run.")
    # ElastAlert2 keys accepted so that existing rules load; they change nothing here.
    use_count_query: bool = option(False, "frequency: add one count per run (the whole rule) instead of "
                                          "sliding per event; other types always count on the backend.")
    use_terms_query: bool = option(False, "frequency: add one count per query_key value per run (a terms "
                                          "aggregation of terms_size values).")
    doc_type: str | None = option(None, "Ignored: Elasticsearch mapping types no longer exist.",
                                  deprecated="mapping types no longer exist")
    use_strftime_index: bool = option(False, "Ignored: strftime (%Y.%m.%d) and %{+YYYY.MM.dd} patterns "
                                             "are expanded by themselves.",
                                      deprecated="dated index patterns are expanded by themselves")
    es_host: str | None = option(None, "Ignored: the cluster comes from `pipeline alerts run --es`.",
                                 deprecated="the cluster comes from `pipeline alerts run --es`")
    es_port: int | None = option(None, "Ignored: the cluster comes from `pipeline alerts run --es`.",
                                 deprecated="the cluster comes from `pipeline alerts run --es`")
