"""The generated saved objects: structure as Kibana exports it, for both flavours."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.kibana import builder, fields, ids, specs, validate
from pipeline.kibana.targets import KIBANA7, KIBANA8, TARGETS, Target, target_for_version

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = specs.load_dir(REPO / "dashboards" / "specs")

# The shapes of Kibana's own exports (its sample data sets and the saved objects API docs):
# top-level keys per flavour, and the attributes each type carries.
TOP_LEVEL = {"kibana8": {"attributes", "coreMigrationVersion", "id", "references", "type", "typeMigrationVersion"},
             "kibana7": {"attributes", "id", "migrationVersion", "references", "type"}}
ATTRIBUTES = {
    "index-pattern": {"title", "timeFieldName", "fieldFormatMap", "runtimeFieldMap", "fields"},
    "search": {"title", "description", "columns", "hits", "kibanaSavedObjectMeta", "sort", "version"},
    "visualization": {"title", "visState", "uiStateJSON", "description", "version", "kibanaSavedObjectMeta"},
    "dashboard": {"title", "hits", "description", "panelsJSON", "optionsJSON", "version", "timeRestore", "timeTo",
                  "timeFrom", "refreshInterval", "kibanaSavedObjectMeta"},
}


def _all_objects(target: Target) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for dashboard in DASHBOARDS:
        for obj in builder.build_objects(dashboard, target):
            seen.setdefault((obj["type"], obj["id"]), obj)
    return list(seen.values())


@pytest.mark.parametrize("target", TARGETS.values(), ids=TARGETS)
def test_objects_are_sound(target: Target) -> None:
    objects = _all_objects(target)
    assert validate.check_objects(objects) == []
    assert len({o["id"] for o in objects}) == len(objects)
    assert {o["type"] for o in objects} == {"index-pattern", "search", "visualization", "dashboard"}
    for obj in objects:
        assert set(obj) == TOP_LEVEL[target.name], obj["id"]
        assert set(obj["attributes"]) <= ATTRIBUTES[obj["type"]], obj["type"]
        json.loads(json.dumps(obj))  # plain JSON all the way down


@pytest.mark.parametrize("target", TARGETS.values(), ids=TARGETS)
def test_data_views(target: Target) -> None:
    views = {o["attributes"]["title"]: o for o in _all_objects(target) if o["type"] == "index-pattern"}
    assert set(views) == {"logs-*", "pipeline-monitoring-*"}
    assert all(v["attributes"]["timeFieldName"] == "@timestamp" for v in views.values())
    assert views["logs-*"]["id"] == ids.object_id("index-pattern", "logs-*")


def test_panels_and_references_named_like_kibana8() -> None:
    dashboard = next(o for o in _all_objects(KIBANA8) if o["type"] == "dashboard")
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    refs = {r["name"]: r for r in dashboard["references"]}
    for panel in panels:
        index = panel["panelIndex"]
        assert panel["panelRefName"] == f"panel_{index}" and panel["gridData"]["i"] == index
        assert panel["type"] in ("visualization", "search") and panel["version"] == "8.8.0"
        assert refs[f"{index}:panel_{index}"]["type"] == panel["type"]
    assert dashboard["coreMigrationVersion"] == "8.8.0"


def test_panels_and_references_named_like_kibana7() -> None:
    dashboard = next(o for o in _all_objects(KIBANA7) if o["type"] == "dashboard")
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    assert [p["panelRefName"] for p in panels] == [f"panel_{i}" for i in range(len(panels))]
    assert [r["name"] for r in dashboard["references"]] == [f"panel_{i}" for i in range(len(panels))]
    assert all("type" not in p and p["version"] == "7.10.0" for p in panels)
    assert dashboard["migrationVersion"] == {"dashboard": "7.9.3"}


def test_saved_search_and_visualizations_reference_the_data_view_by_name() -> None:
    for obj in _all_objects(KIBANA8):
        if obj["type"] in ("search", "visualization"):
            source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
            assert source["indexRefName"] == "kibanaSavedObjectMeta.searchSourceJSON.index"
            assert obj["references"] == [{"id": obj["references"][0]["id"], "type": "index-pattern",
                                          "name": "kibanaSavedObjectMeta.searchSourceJSON.index"}]


def test_overview_time_series_by_level_every_five_minutes() -> None:
    overview = next(d for d in DASHBOARDS if d.name == "overview")
    panel = next(p for p in overview.panels if p.split == "log.level")
    state = json.loads(builder.build_visualization(overview, panel, KIBANA8)["attributes"]["visState"])
    by_type = {agg["type"]: agg for agg in state["aggs"]}
    assert by_type["date_histogram"]["params"]["interval"] == "5m"
    assert by_type["date_histogram"]["params"]["field"] == "@timestamp"
    assert by_type["terms"]["params"]["field"] == "log.level" and by_type["terms"]["schema"] == "group"


def test_status_classes_are_filters() -> None:
    web = next(d for d in DASHBOARDS if d.name == "web-access")
    panel = next(p for p in web.panels if p.split_filters)
    state = json.loads(builder.build_visualization(web, panel, KIBANA7)["attributes"]["visState"])
    filters = next(a for a in state["aggs"] if a["type"] == "filters")["params"]["filters"]
    assert [f["label"] for f in filters] == ["1xx", "2xx", "3xx", "4xx", "5xx"]
    assert all(f["input"]["language"] == "kuery" for f in filters)


def test_ids_are_deterministic() -> None:
    first = [builder.build_objects(d, KIBANA8) for d in DASHBOARDS]
    again = [builder.build_objects(d, KIBANA8) for d in specs.load_dir(REPO / "dashboards" / "specs")]
    assert first == again
    # Pinned: changing the namespace or the seeds would duplicate every user's dashboards.
    assert ids.object_id("dashboard", "overview") == "c7ca1aa5-2fc6-5b91-a374-47f7ac2f3861"
    assert ids.object_id("index-pattern", "logs-*") == "cf91160a-8fca-5b77-b4d2-2c16d8a1ab0c"


def test_layout_wraps_at_48_columns() -> None:
    panels = tuple(specs.Panel(key=str(i), type="metric", title=str(i), line=1, width=w, height=h)
                   for i, (w, h) in enumerate([(24, 5), (24, 8), (30, 4), (20, 6)]))
    assert builder.layout(panels) == [{"x": 0, "y": 0, "w": 24, "h": 5}, {"x": 24, "y": 0, "w": 24, "h": 8},
                                      {"x": 0, "y": 8, "w": 30, "h": 4}, {"x": 0, "y": 12, "w": 20, "h": 6}]


def test_target_from_version() -> None:
    assert target_for_version("8.15.3") is KIBANA8
    assert target_for_version("8.7.1") is KIBANA7  # typeMigrationVersion arrived in 8.8
    assert target_for_version("7.10.2") is KIBANA7
    assert target_for_version("2.11.0") is KIBANA7  # OpenSearch Dashboards


def test_every_panel_field_is_mapped_by_the_index_template() -> None:
    assert [p for d in DASHBOARDS for p in fields.check_dashboard(d)] == []


def test_field_check_catches_keyword_mismatch_and_typos() -> None:
    text = """\
name: bad
title: Bad
data_view: "DV"
panels:
  - {title: A, type: bar, field: FIELD}
"""
    def problems(view: str, field: str) -> list[str]:
        return fields.check_dashboard(specs.parse_text(text.replace("DV", view).replace("FIELD", field), "bad.yml"))

    assert problems("logs-*", "service.name") == []
    assert "is text, which cannot be aggregated" in problems("logs-*", "message")[0]
    assert problems("logs-*", "http.response.status") == [
        "bad.yml:5: panel 'A': 'http.response.status' is not mapped by the index template"]
    assert "use 'pipeline.id.keyword'" in problems("pipeline-monitoring-*", "pipeline.id")[0]
    assert problems("pipeline-monitoring-*", "pipeline.id.keyword") == []


def test_kql_fields() -> None:
    assert fields.kql_fields('log.level:(ERROR or FATAL) and not tags:"a:b" and x.y >= 3') == \
        ["log.level", "tags", "x.y"]
    assert fields.kql_fields("just words") == []


def test_validation_finds_what_kibana_would_choke_on() -> None:
    objects = json.loads(json.dumps(_all_objects(KIBANA8)))
    by_type = {o["type"]: o for o in objects}
    by_type["visualization"]["attributes"]["visState"] = "{broken"
    by_type["search"]["references"][0]["id"] = "gone"
    dashboard = by_type["dashboard"]
    dashboard["references"] = dashboard["references"][1:]
    objects.append(dict(by_type["index-pattern"]))
    problems = "\n".join(validate.check_objects(objects))
    assert "visState is not valid JSON" in problems
    assert "-> index-pattern gone is not in the file" in problems
    assert "has no reference" in problems
    assert "duplicate id" in problems


def test_docs_describe_every_dashboard() -> None:
    text = (REPO / "docs" / "dashboards.md").read_text()
    for dashboard in DASHBOARDS:
        assert dashboard.title in text, f"docs/dashboards.md does not describe {dashboard.title}"
