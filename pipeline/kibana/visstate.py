"""``visState`` of legacy aggregation-based visualizations (Kibana 7.10 shape, imported by 8.x too).

One function per panel type; aggregation ids are "1", "2"... in order, metrics first, as the
visualize editor numbers them.
"""

from __future__ import annotations

from typing import Any

from pipeline.kibana.specs import Metric, Panel

_KQL = "kuery"


def vis_state(panel: Panel, time_field: str) -> dict[str, Any]:
    """The visState object (not yet serialized) for a timeseries, bar, metric, pie or table panel."""
    builders = {"timeseries": _timeseries, "bar": _bar, "metric": _metric, "pie": _pie, "table": _table}
    vis_type, params, aggs = builders[panel.type](panel, time_field)
    return {"title": panel.title, "type": vis_type, "aggs": aggs, "params": params}


def fields_used(panel: Panel, time_field: str) -> list[tuple[str, str]]:
    """(field, role) pairs a panel aggregates on: role is ``terms``, ``numeric``, ``date`` or ``any``."""
    used: list[tuple[str, str]] = []
    for metric in panel.metrics if panel.type != "search" else ():
        if metric.field:
            used.append((metric.field, "any" if metric.agg == "cardinality" else "numeric"))
    if panel.type == "timeseries":
        used.append((time_field, "date"))
        if panel.split:
            used.append((panel.split, "terms"))
    elif panel.field:
        used.append((panel.field, "terms"))
    return used


def _metric_aggs(metrics: tuple[Metric, ...]) -> list[dict[str, Any]]:
    aggs = []
    for number, metric in enumerate(metrics, start=1):
        params: dict[str, Any] = {"field": metric.field} if metric.field else {}
        if metric.label:
            params["customLabel"] = metric.label
        aggs.append({"id": str(number), "enabled": True, "type": metric.agg, "params": params, "schema": "metric"})
    return aggs


def _terms(agg_id: int, field: str, size: int, schema: str, label: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "field": field, "orderBy": "1", "order": "desc", "size": size, "otherBucket": False,
        "otherBucketLabel": "Other", "missingBucket": False, "missingBucketLabel": "Missing",
    }
    if label:
        params["customLabel"] = label
    return {"id": str(agg_id), "enabled": True, "type": "terms", "params": params, "schema": schema}


def _axes(vis_type: str, metrics: tuple[Metric, ...], mode: str, value_title: str) -> dict[str, Any]:
    series = [{
        "show": True, "type": vis_type, "mode": mode,
        "data": {"label": m.label or _metric_label(m), "id": str(i)},
        "valueAxis": "ValueAxis-1", "drawLinesBetweenPoints": True, "lineWidth": 2, "showCircles": True,
        "interpolate": "linear",
    } for i, m in enumerate(metrics, start=1)]
    return {
        "type": vis_type,
        "grid": {"categoryLines": False},
        "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True,
                          "style": {}, "scale": {"type": "linear"},
                          "labels": {"show": True, "filter": True, "truncate": 100}, "title": {}}],
        "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left",
                       "show": True, "style": {}, "scale": {"type": "linear", "mode": "normal"},
                       "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                       "title": {"text": value_title}}],
        "seriesParams": series,
        "addTooltip": True, "addLegend": True, "legendPosition": "right", "times": [], "addTimeMarker": False,
        "labels": {"show": False},
        "thresholdLine": {"show": False, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
    }


def _metric_label(metric: Metric) -> str:
    if metric.agg == "count":
        return "Count"
    names = {"sum": "Sum", "avg": "Average", "max": "Max", "min": "Min", "cardinality": "Unique count"}
    return f"{names[metric.agg]} of {metric.field}"


def _timeseries(panel: Panel, time_field: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    vis_type = "histogram" if panel.chart == "bar" else panel.chart
    aggs = _metric_aggs(panel.metrics)
    next_id = len(aggs) + 1
    aggs.append({"id": str(next_id), "enabled": True, "type": "date_histogram", "schema": "segment",
                 "params": {"field": time_field, "useNormalizedEsInterval": True, "scaleMetricValues": False,
                            "interval": panel.interval, "drop_partials": False, "min_doc_count": 1,
                            "extended_bounds": {}}})
    if panel.split:
        aggs.append(_terms(next_id + 1, panel.split, panel.split_size, "group"))
    elif panel.split_filters:
        filters = [{"input": {"query": query, "language": _KQL}, "label": label}
                   for label, query in panel.split_filters]
        aggs.append({"id": str(next_id + 1), "enabled": True, "type": "filters", "schema": "group",
                     "params": {"filters": filters}})
    mode = "stacked" if vis_type in ("histogram", "area") else "normal"
    title = panel.metrics[0].label or _metric_label(panel.metrics[0])
    return vis_type, _axes(vis_type, panel.metrics, mode, title), aggs


def _bar(panel: Panel, _time_field: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    assert panel.field is not None
    aggs = _metric_aggs(panel.metrics) + [_terms(2, panel.field, panel.size, "segment")]
    params = _axes("histogram", panel.metrics, "normal", panel.metrics[0].label or _metric_label(panel.metrics[0]))
    params["categoryAxes"][0]["labels"]["rotate"] = 0
    return "histogram", params, aggs


def _metric(panel: Panel, _time_field: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    params = {
        "addTooltip": True, "addLegend": False, "type": "metric",
        "metric": {"percentageMode": False, "useRanges": False, "colorSchema": "Green to Red",
                   "metricColorMode": "None", "colorsRange": [{"from": 0, "to": 10000}],
                   "labels": {"show": True}, "invertColors": False,
                   "style": {"bgFill": "#000", "bgColor": False, "labelColor": False, "subText": "",
                             "fontSize": 60}},
    }
    return "metric", params, _metric_aggs(panel.metrics)


def _pie(panel: Panel, _time_field: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    assert panel.field is not None
    params = {"type": "pie", "addTooltip": True, "addLegend": True, "legendPosition": "right", "isDonut": True,
              "labels": {"show": False, "values": True, "last_level": True, "truncate": 100}}
    return "pie", params, _metric_aggs(panel.metrics) + [_terms(2, panel.field, panel.size, "segment")]


def _table(panel: Panel, _time_field: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    assert panel.field is not None
    params = {"perPage": 10, "showPartialRows": False, "showMetricsAtAllLevels": False,
              "sort": {"columnIndex": None, "direction": None}, "showTotal": False, "totalFunc": "sum",
              "percentageCol": ""}
    aggs = _metric_aggs(panel.metrics)
    aggs.append(_terms(len(aggs) + 1, panel.field, panel.size, "bucket"))
    return "table", params, aggs
