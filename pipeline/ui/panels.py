"""Dashboard specs (``dashboards/specs/*.yml``, the same files that become Kibana saved objects) computed
over a source: each panel's numbers for the page's time range and query.

A panel's own query (in its language) is AND-ed with the page's query, as Kibana applies the query bar
to every panel. Terms panels (bar, pie, table) give the top values; timeseries give one series per split
value (or per split filter, or one series of all events); metric gives one number; search the newest
documents with the panel's columns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.kibana import specs
from pipeline.kibana.specs import Dashboard, Panel
from pipeline.localindex import parse_query_text
from pipeline.localindex.query import Bool, MatchAll, Query
from pipeline.resources import resource_dir
from pipeline.ui import timerange
from pipeline.ui.source import Question, Source


def load_dashboards(directory: Path | None = None) -> list[Dashboard]:
    folder = directory or resource_dir("dashboards", "PIPELINE_DASHBOARDS") / "specs"
    return specs.load_dir(folder)


def _and(*queries: Query) -> Query:
    parts = tuple(q for q in queries if not isinstance(q, MatchAll))
    if not parts:
        return MatchAll()
    return parts[0] if len(parts) == 1 else Bool(must=parts)


def _interval(panel: Panel, start: datetime, end: datetime) -> int:
    if panel.interval != "auto":
        from pipeline.localindex import datemath

        return datemath.parse_interval(panel.interval)
    return timerange.interval_for(start, end)


def compute(source: Source, dashboard: Dashboard, page_query: Query, start: datetime, end: datetime) -> dict[str, Any]:
    """Every panel of ``dashboard``; their aggregations go to the source together (see Source.answer)."""
    index = dashboard.data_view.pattern
    base = _and(page_query, parse_query_text(dashboard.query, dashboard.language))
    questions: list[Question] = []
    # Per panel: its data, and where its answers go once every question is answered.
    pending: list[tuple[dict[str, Any], Callable[[dict[str, Any], list[Any]], None], list[int]]] = []

    def ask(*asked: Question) -> list[int]:
        questions.extend(asked)
        return list(range(len(questions) - len(asked), len(questions)))

    out = []
    for panel in dashboard.panels:
        query = _and(base, parse_query_text(panel.query, panel.language))
        data: dict[str, Any] = {"key": panel.key, "type": panel.type, "title": panel.title,
                                "width": panel.width, "height": panel.height}
        out.append(data)
        if panel.type == "search":
            data["columns"] = list(panel.columns)
            data["rows"] = source.search(index, query, start, end, size=20)
        elif panel.type == "metric":
            metric = panel.metrics[0]
            data["label"] = metric.label or (metric.agg if metric.field is None else f"{metric.agg} {metric.field}")
            if metric.agg == "count":
                pending.append((data, _set_value(_number), ask(Question("count", query))))
            elif metric.agg == "cardinality":
                pending.append((data, _set_value(_number), ask(Question("cardinality", query, metric.field))))
            else:
                assert metric.field is not None
                data["value"] = source.metric(index, metric.agg, metric.field, query, start, end)
        elif panel.type == "timeseries":
            interval = _interval(panel, start, end)
            data["chart"] = panel.chart
            data["interval_ms"] = interval
            if panel.split:
                pending.append((data, _set_split,
                                ask(Question("split", query, panel.split, interval, panel.split_size))))
            elif panel.split_filters:
                labels = [label for label, _ in panel.split_filters]
                subs = [Question("histogram", _and(query, parse_query_text(text, "kuery")), interval_ms=interval)
                        for _, text in panel.split_filters]
                pending.append((data, _set_series(labels), ask(*subs)))
            else:
                pending.append((data, _set_series(["count"]), ask(Question("histogram", query, interval_ms=interval))))
        else:  # bar, pie, table: top values of a field
            assert panel.field is not None
            data["field"] = panel.field
            pending.append((data, _set_terms, ask(Question("terms", query, panel.field, size=panel.size))))
    answers = source.answer(index, questions, start, end) if questions else []
    for data, fill, positions in pending:
        fill(data, [answers[i] for i in positions])
    return {"name": dashboard.name, "title": dashboard.title, "description": dashboard.description,
            "panels": out}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _set_value(convert: Callable[[Any], Any]) -> Callable[[dict[str, Any], list[Any]], None]:
    def fill(data: dict[str, Any], answers: list[Any]) -> None:
        data["value"] = convert(answers[0])
    return fill


def _set_series(names: list[str]) -> Callable[[dict[str, Any], list[Any]], None]:
    def fill(data: dict[str, Any], answers: list[Any]) -> None:
        data["series"] = [{"name": name, "buckets": buckets} for name, buckets in zip(names, answers, strict=True)]
    return fill


def _set_split(data: dict[str, Any], answers: list[Any]) -> None:
    data["series"] = [{"name": str(value), "buckets": buckets} for value, buckets in answers[0]]


def _set_terms(data: dict[str, Any], answers: list[Any]) -> None:
    data["buckets"] = [{"key": key, "count": n} for key, n in answers[0]]
