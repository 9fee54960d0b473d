"""Generate the Grafana dashboard (packaging/grafana/pipeline-dashboard.json) from the metric list.

    python3 -m pipeline.monitoring.grafana > packaging/grafana/pipeline-dashboard.json

One timeseries panel per metric family of :data:`pipeline.monitoring.prometheus.METRICS` (counters as
``rate()`` per second), grouped in rows; a test fails when the committed file drifts from this output.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pipeline.monitoring.prometheus import METRICS, MetricSpec

ROWS = (("Events", "pipeline_events", "pipeline_output_rejected", "pipeline_plugin_"),
        ("Queue and workers", "pipeline_queue_", "pipeline_workers_", "pipeline_dlq_"),
        ("Outputs", "pipeline_output_retries", "pipeline_output_failures", "pipeline_output_backlog",
         "pipeline_output_last", "pipeline_output_stalled"),
        ("Inputs and filters", "pipeline_beats_", "pipeline_grok_"),
        ("Health and reloads", "pipeline_health", "pipeline_reload", "pipeline_uptime", "pipeline_info"))


def _row_of(spec: MetricSpec) -> str:
    for title, *prefixes in ROWS:
        if any(spec.name.startswith(p) for p in prefixes):
            return title
    return "Other"


def _expr(spec: MetricSpec) -> tuple[str, str]:
    group = [label for label in spec.labels if label != "pipeline"]
    legend = "{{pipeline}}" + "".join(f" {{{{{label}}}}}" for label in group)
    if spec.kind == "counter":
        return f'sum by (pipeline{"".join(", " + g for g in group)}) (rate({spec.exposed}{{pipeline=~"$pipeline"}}[$__rate_interval]))', legend
    selector = '{pipeline=~"$pipeline"}' if "pipeline" in spec.labels else ""
    return f"{spec.exposed}{selector}", legend if "pipeline" in spec.labels else spec.name


def _unit(spec: MetricSpec) -> str:
    if spec.name.endswith("_bytes"):
        return "bytes"
    if spec.name.endswith("_timestamp_seconds"):
        return "dateTimeAsIso"
    if spec.name.endswith("_seconds"):
        return "s"
    return "ops" if spec.kind == "counter" else "short"


def dashboard() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y = 0
    next_id = 1
    for title, *_ in ROWS:
        specs = [s for s in METRICS if _row_of(s) == title]
        panels.append({"type": "row", "title": title, "id": next_id, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        next_id += 1
        y += 1
        for index, spec in enumerate(specs):
            expr, legend = _expr(spec)
            panels.append({
                "type": "timeseries", "id": next_id, "title": spec.exposed, "description": spec.help,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": y + 8 * (index // 2)},
                "fieldConfig": {"defaults": {"unit": _unit(spec)}, "overrides": []},
                "targets": [{"refId": "A", "expr": expr, "legendFormat": legend}],
            })
            next_id += 1
        y += 8 * ((len(specs) + 1) // 2)
    return {
        "title": "pipeline", "uid": "pipeline-prometheus", "schemaVersion": 39, "version": 1,
        "tags": ["pipeline", "logstash"], "timezone": "utc", "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
            {"name": "pipeline", "type": "query", "label": "Pipeline", "includeAll": True, "multi": True,
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": {"query": "label_values(pipeline_events_in_total, pipeline)", "refId": "pipelines"},
             "definition": "label_values(pipeline_events_in_total, pipeline)", "refresh": 2},
        ]},
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
