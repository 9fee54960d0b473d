"""Dashboard specs (``dashboards/specs/*.yml``, the same files that become Kibana saved objects) computed
over a source: each panel's numbers for the page's time range and query.

A panel's own query (in its language) is AND-ed with the page's query, as Kibana applies the query bar
to every panel. Terms panels (bar, pie, table) give the top values; timeseries give one series per split
value (or per split filter, or one series of all events); metric gives one number; search the newest
documents with the panel's columns.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.kibana import specs
from pipeline.kibana.specs import Dashboard, Metric, Panel
from pipeline.localindex import parse_query_text
from pipeline.localindex.query import Bool, MatchAll, Query
from pipeline.resources import resource_dir
from pipeline.ui import timerange
from pipeline.ui.source import Source


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


def _metric_value(source: Source, index: str, metric: Metric, query: Query, start: datetime,
                  end: datetime) -> float | None:
    if metric.agg == "count":
        return float(source.count(index, query, start, end))
    assert metric.field is not None
    return source.metric(index, metric.agg, metric.field, query, start, end)


def compute(source: Source, dashboard: Dashboard, page_query: Query, start: datetime, end: datetime) -> dict[str, Any]:
    index = dashboard.data_view.pattern
    base = _and(page_query, parse_query_text(dashboard.query, dashboard.language))
    out = []
    for panel in dashboard.panels:
        query = _and(base, parse_query_text(panel.query, panel.language))
        data: dict[str, Any] = {"key": panel.key, "type": panel.type, "title": panel.title,
                                "width": panel.width, "height": panel.height}
        if panel.type == "search":
            docs = source.search(index, query, start, end, size=20)
            data["columns"] = list(panel.columns)
            data["rows"] = docs
        elif panel.type == "metric":
            metric = panel.metrics[0]
            data["label"] = metric.label or (metric.agg if metric.field is None else f"{metric.agg} {metric.field}")
            data["value"] = _metric_value(source, index, metric, query, start, end)
        elif panel.type == "timeseries":
            interval = _interval(panel, start, end)
            data["chart"] = panel.chart
            data["interval_ms"] = interval
            series: list[dict[str, Any]] = []
            if panel.split:
                for value, buckets in source.split_histogram(index, panel.split, query, start, end, interval,
                                                             panel.split_size):
                    series.append({"name": str(value), "buckets": buckets})
            elif panel.split_filters:
                for label, text in panel.split_filters:
                    sub = _and(query, parse_query_text(text, "kuery"))
                    series.append({"name": label, "buckets": source.histogram(index, sub, start, end, interval)})
            else:
                series.append({"name": "count", "buckets": source.histogram(index, query, start, end, interval)})
            data["series"] = series
        else:  # bar, pie, table: top values of a field
            assert panel.field is not None
            data["field"] = panel.field
            data["buckets"] = [{"key": key, "count": n}
                               for key, n in source.terms(index, panel.field, query, start, end, panel.size)]
        out.append(data)
    return {"name": dashboard.name, "title": dashboard.title, "description": dashboard.description,
            "panels": out}
