"""From matches to a rendered alert: the template context, the summary sentence, the Kibana link."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from pipeline.alerts.discover import discover_url
from pipeline.alerts.query import combine, key_filter, to_query_string
from pipeline.alerts.templates import (
    SUMMARIES,
    AlertMessage,
    compile_template,
    event_text,
    format_time,
    human_period,
    render,
)
from pipeline.alerts.types.base import Match, lookup_field
from pipeline.template import load_timezone

if TYPE_CHECKING:
    from pipeline.alerts.rule import Rule

SUMMARY_TABLE_ROWS = 50


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def build_context(rule: Rule, matches: list[Match], top_counts: dict[str, list[list[Any]]]) -> dict[str, Any]:
    """The variables of alert_subject/alert_text for one alert (several matches when aggregated)."""
    opts = rule.options
    tz = load_timezone(opts.timezone)
    lang = opts.alert_language
    last = matches[-1]
    start, end = last.window or (last.time, last.time)
    if len(matches) > 1:
        start = min((m.window or (m.time, m.time))[0] for m in matches)
    event = _jsonable(last.event)
    if opts.include:
        event = {k: v for k, v in event.items() if any(k == f or f.startswith(k + ".") for f in opts.include)}
    details = _jsonable(last.details)
    timeframe = getattr(opts, "timeframe", None) or getattr(opts, "bucket_interval", None) or \
        (opts.buffer_time if hasattr(opts, "sync_bucket_interval") else opts.run_every)  # aggregation rules
    context: dict[str, Any] = {
        "rule": {"name": opts.name, "type": opts.type, "priority": opts.priority, "owner": opts.owner,
                 "description": opts.description, "index": opts.index, "query_key": list(opts.query_key),
                 "filter": to_query_string(rule.query)},
        "match": event,
        "matches": [_jsonable(m.event) for m in matches],
        "key": last.key_text,
        "count": last.count,
        "num_matches": len(matches),
        "details": details,
        "window_start": format_time(start, tz),
        "window_end": format_time(end, tz),
        "timeframe": human_period(float(timeframe), lang),
        "top_counts": top_counts,
        "summary_table": summary_table(opts.summary_table_fields or list(opts.query_key), matches),
        "match_text": event_text(event),
        "kibana_url": None,
    }
    if opts.kibana_discover_app_url:
        query = combine(rule.query, key_filter(opts.query_key, last.key)
                        if len(last.key) == len(opts.query_key) and len(matches) == 1 else None)
        context["kibana_url"] = discover_url(opts.kibana_discover_app_url, opts.kibana_discover_index_pattern_id,
                                             start, end, query)
    summary = SUMMARIES[lang].get(opts.type, "")
    context["summary"] = render(_compiled(summary), context, "summary") if summary else ""
    return context


_CACHE: dict[str, Any] = {}


def _compiled(source: str) -> Any:
    if source not in _CACHE:
        _CACHE[source] = compile_template(source, "summary")
    return _CACHE[source]


def summary_table(fields: list[str], matches: list[Match]) -> list[list[Any]]:
    """Rows ``[value, value ..., count]`` of the fields over the matches, most frequent first."""
    if len(matches) < 2 or not fields:
        return []
    counts = Counter(tuple(str(lookup_field(m.event, f)) for f in fields) for m in matches)
    return [[*values, n] for values, n in counts.most_common(SUMMARY_TABLE_ROWS)]


def render_message(rule: Rule, matches: list[Match], top_counts: dict[str, list[list[Any]]] | None = None
                   ) -> AlertMessage:
    context = build_context(rule, matches, top_counts or {})
    subject = render(rule.subject_template, context, "alert_subject").strip().replace("\n", " ")
    text = render(rule.text_template, context, "alert_text")
    return AlertMessage(subject=subject, text=text, link=context["kibana_url"], context=context)
