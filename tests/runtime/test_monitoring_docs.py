"""docs/monitoring.md lists every metric, and the Grafana dashboard is generated from the same list."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.alerts.metrics import METRICS as ALERT_METRICS
from pipeline.monitoring import grafana
from pipeline.monitoring.prometheus import METRICS

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "packaging" / "grafana" / "pipeline-dashboard.json"


def test_every_metric_is_documented():
    doc = (ROOT / "docs" / "monitoring.md").read_text()
    for spec in METRICS:
        assert f"`{spec.exposed}`" in doc, spec.exposed
    for name, *_ in ALERT_METRICS:
        assert f"`{name}`" in doc, name


def test_metric_names_follow_prometheus_conventions():
    for spec in METRICS:
        assert spec.name.startswith("pipeline_") and not spec.name.endswith("_total")
        assert spec.kind in ("counter", "gauge")
        if spec.kind == "gauge":
            assert not spec.exposed.endswith("_total")


def test_grafana_dashboard_is_generated_from_the_metric_list():
    assert DASHBOARD.read_text() == grafana.render(), (
        "regenerate: python3 -m pipeline.monitoring.grafana > packaging/grafana/pipeline-dashboard.json")
    board = json.loads(DASHBOARD.read_text())
    panels = [p for p in board["panels"] if p["type"] == "timeseries"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    for spec in METRICS:
        assert spec.exposed in exprs, spec.exposed
    for panel in panels:
        for target in panel["targets"]:
            assert target["expr"].count("(") == target["expr"].count(")")
    assert {v["name"] for v in board["templating"]["list"]} == {"datasource", "pipeline"}
