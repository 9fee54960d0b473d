"""Loading and validating dashboard specs: errors carry file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.kibana import specs
from pipeline.kibana.errors import SpecError

REPO = Path(__file__).resolve().parents[2]

MINIMAL = """\
name: demo
title: Demo
panels:
  - {title: Events, type: metric}
"""


def _error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        specs.parse_text(text, "demo.yml")
    return info.value


def test_minimal_spec_gets_defaults() -> None:
    dashboard = specs.parse_text(MINIMAL, "demo.yml")
    assert dashboard.data_view == specs.DataView("logs-*", "@timestamp")
    assert (dashboard.time_from, dashboard.time_to, dashboard.refresh_seconds) == ("now-24h", "now", None)
    panel = dashboard.panels[0]
    assert (panel.key, panel.type, panel.metrics, panel.width, panel.line) == (
        "events", "metric", (specs.Metric("count"),), 24, 4)


def test_unknown_panel_key_points_at_its_line() -> None:
    error = _error(MINIMAL + "  - title: Top\n    type: bar\n    field: host.name\n    colour: red\n")
    assert (error.source, error.line) == ("demo.yml", 8)
    assert "unknown key 'colour'" in str(error) and str(error).startswith("demo.yml:8:")


@pytest.mark.parametrize(("extra", "line", "words"), [
    ("  - {title: X, type: gauge}\n", 5, "type 'gauge' is not one of"),
    ("  - {title: X, type: bar}\n", 5, "'field' is required"),
    ("  - {title: X, type: timeseries, interval: 5 minutes}\n", 5, "interval '5 minutes'"),
    ("  - {title: X, type: metric, metrics: [{agg: sum}]}\n", 5, "needs a 'field'"),
    ("  - {title: X, type: metric, width: 60}\n", 5, "at most 48"),
    ("  - {title: X, type: search, columns: []}\n", 5, "non-empty list"),
    ("  - {title: X, type: timeseries, split: {size: 3}}\n", 5, "either 'field' or 'filters'"),
    ("  - {title: Events, type: metric}\n", 5, "panel key 'events' is also used"),
    ("  - {title: X, type: metric, query: 'level:(ERROR or'}\n", 5, "the kuery query does not parse: Expected"),
    ("  - {title: X, type: metric, language: lucene, query: 'level:(ERROR'}\n", 5,
     "the lucene query does not parse"),
    ("  - {title: X, type: metric, language: sql}\n", 5, "must be kuery (KQL) or lucene"),
    ("  - {title: X, type: timeseries, split: {filters: {bad: 'a:'}}}\n", 5, "split filter 'bad'"),
])
def test_panel_errors(extra: str, line: int, words: str) -> None:
    error = _error(MINIMAL + extra)
    assert error.line == line and words in str(error)


def test_dashboard_level_errors() -> None:
    assert "'title' is required" in str(_error("name: demo\npanels: [{title: X, type: metric}]\n"))
    assert "lower-case" in str(_error(MINIMAL.replace("name: demo", "name: My Demo")))
    error = _error(MINIMAL.replace("title: Demo", "title: Demo\nrefresh: often"))
    assert error.line == 3 and "refresh 'often'" in str(error)
    assert "must be str" in str(_error(MINIMAL.replace("title: Demo", "title: [Demo]")))


def test_yaml_syntax_error_and_duplicate_key_have_lines() -> None:
    error = _error("name: demo\ntitle: [unclosed\npanels: []\n")
    assert error.line is not None and "invalid YAML" in str(error)
    error = _error("name: demo\nname: again\ntitle: X\npanels: [{title: X, type: metric}]\n")
    assert error.line == 2 and "duplicate key 'name'" in str(error)


def test_consistency_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(MINIMAL)
    (tmp_path / "b.yml").write_text(MINIMAL)
    with pytest.raises(SpecError, match="dashboard name 'demo' is also used"):
        specs.load_dir(tmp_path)
    (tmp_path / "b.yml").write_text(MINIMAL.replace("name: demo", "name: other")
                                    + "data_view: {pattern: logs-*, time_field: ts}\n")
    with pytest.raises(SpecError, match="time field 'ts'"):
        specs.load_dir(tmp_path)
    with pytest.raises(SpecError, match="no dashboard specs"):
        specs.load_dir(tmp_path / "missing")


def test_shipped_specs_load() -> None:
    dashboards = {d.name: d for d in specs.load_dir(REPO / "dashboards" / "specs")}
    assert set(dashboards) == {"overview", "web-access", "errors", "pipeline-health", "services"}
    overview = dashboards["overview"]
    series = next(p for p in overview.panels if p.type == "timeseries" and p.split == "log.level")
    assert series.interval == "5m"
    assert {p.field for p in overview.panels} >= {"service.name", "host.name"}
    assert any("_grokparsefailure" in p.query for p in overview.panels)
    assert dashboards["pipeline-health"].data_view.pattern == "pipeline-monitoring-*"
    search = next(p for p in dashboards["errors"].panels if p.type == "search")
    assert "ERROR" in search.query and "FATAL" in search.query and "message" in search.columns


def test_query_language_is_carried_into_the_saved_objects() -> None:
    import json

    from pipeline.kibana import builder

    dashboard = specs.parse_text(MINIMAL + "  - {title: Old, type: search, language: lucene, columns: [message], "
                                 "query: 'level:ERROR AND NOT tags:x'}\n", "demo.yml")
    lucene, kql = dashboard.panels[1], dashboard.panels[0]
    assert (lucene.language, kql.language, dashboard.language) == ("lucene", "kuery", "kuery")
    source = builder._search_source(lucene.query, lucene.language, with_index=True)
    assert json.loads(source)["query"] == {"query": "level:ERROR AND NOT tags:x", "language": "lucene"}
