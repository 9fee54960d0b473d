"""Saved objects (data view, saved searches, visualizations, dashboard) from a dashboard spec.

Objects are plain dicts shaped as Kibana exports them: nested JSON kept as compact strings
(``visState``, ``panelsJSON``, ``searchSourceJSON`` ...), the data view referenced by name
(``kibanaSavedObjectMeta.searchSourceJSON.index``), panels referenced by ``panelRefName``.
Ids come from ``ids`` so a re-import overwrites.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.kibana import ids
from pipeline.kibana.specs import GRID_COLUMNS, Dashboard, DataView, Panel
from pipeline.kibana.targets import Target
from pipeline.kibana.visstate import vis_state
from pipeline.resources import resource_dir

INDEX_REF_NAME = "kibanaSavedObjectMeta.searchSourceJSON.index"
REPO_DASHBOARDS = resource_dir("dashboards", "PIPELINE_DASHBOARDS")


def json_string(value: Any) -> str:
    """Nested JSON the way Kibana stores it: compact, insertion order kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def data_view_id(view: DataView) -> str:
    return ids.object_id("index-pattern", view.pattern)


def panel_object_id(dashboard: Dashboard, panel: Panel) -> str:
    kind = "search" if panel.type == "search" else "visualization"
    return ids.object_id(kind, f"{dashboard.name}/{panel.key}")


def _saved_object(kind: str, object_id: str, attributes: dict[str, Any], references: list[dict[str, str]],
                  target: Target) -> dict[str, Any]:
    return {"attributes": attributes, "id": object_id, "references": references, "type": kind,
            **target.version_fields(kind)}


def _search_source(query: str, language: str, *, with_index: bool, highlight: bool = False) -> str:
    source: dict[str, Any] = {"query": {"query": query, "language": language}}
    if highlight:
        source["highlightAll"] = True
    source["filter"] = []
    if with_index:
        source["indexRefName"] = INDEX_REF_NAME
    return json_string(source)


def _index_reference(view: DataView) -> dict[str, str]:
    return {"id": data_view_id(view), "name": INDEX_REF_NAME, "type": "index-pattern"}


def build_data_view(view: DataView, target: Target) -> dict[str, Any]:
    attributes: dict[str, Any] = {"title": view.pattern, "timeFieldName": view.time_field}
    if target.modern:
        attributes.update(fieldFormatMap="{}", runtimeFieldMap="{}")
    return _saved_object("index-pattern", data_view_id(view), attributes, [], target)


def build_search(dashboard: Dashboard, panel: Panel, target: Target) -> dict[str, Any]:
    attributes = {
        "title": panel.title,
        "description": "",
        "columns": list(panel.columns),
        "hits": 0,
        "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(panel.query, panel.language, with_index=True, highlight=True)},
        "sort": [list(panel.sort)],
        "version": 1,
    }
    return _saved_object("search", panel_object_id(dashboard, panel), attributes,
                         [_index_reference(dashboard.data_view)], target)


def build_visualization(dashboard: Dashboard, panel: Panel, target: Target) -> dict[str, Any]:
    attributes = {
        "title": panel.title,
        "visState": json_string(vis_state(panel, dashboard.data_view.time_field)),
        "uiStateJSON": "{}",
        "description": "",
        "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(panel.query, panel.language, with_index=True)},
    }
    return _saved_object("visualization", panel_object_id(dashboard, panel), attributes,
                         [_index_reference(dashboard.data_view)], target)


def layout(panels: tuple[Panel, ...]) -> list[dict[str, int]]:
    """Grid positions: panels flow left to right and wrap to a new row at 48 columns."""
    positions, x, y, row_height = [], 0, 0, 0
    for panel in panels:
        if x + panel.width > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        positions.append({"x": x, "y": y, "w": panel.width, "h": panel.height})
        x += panel.width
        row_height = max(row_height, panel.height)
    return positions


def build_dashboard_object(dashboard: Dashboard, target: Target) -> dict[str, Any]:
    panels_json, references = [], []
    for position, (panel, grid) in enumerate(zip(dashboard.panels, layout(dashboard.panels), strict=True)):
        index = ids.panel_index(dashboard.name, panel.key)
        kind = "search" if panel.type == "search" else "visualization"
        entry: dict[str, Any] = {"version": target.panel_version}
        if target.modern:
            entry["type"] = kind
        entry["gridData"] = {**grid, "i": index}
        entry["panelIndex"] = index
        entry["embeddableConfig"] = {"enhancements": {}} if target.modern else {}
        entry["panelRefName"] = target.panel_ref_name(position, index)
        panels_json.append(entry)
        references.append({"id": panel_object_id(dashboard, panel),
                           "name": target.dashboard_ref_name(position, index), "type": kind})
    options = ({"useMargins": True, "syncColors": False, "hidePanelTitles": False} if target.modern
               else {"hidePanelTitles": False, "useMargins": True})
    refresh = dashboard.refresh_seconds
    attributes = {
        "title": dashboard.title,
        "hits": 0,
        "description": dashboard.description,
        "panelsJSON": json_string(panels_json),
        "optionsJSON": json_string(options),
        "version": 1,
        "timeRestore": True,
        "timeTo": dashboard.time_to,
        "timeFrom": dashboard.time_from,
        "refreshInterval": {"pause": refresh is None, "value": (refresh or 60) * 1000},
        "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(dashboard.query, dashboard.language, with_index=False)},
    }
    return _saved_object("dashboard", ids.object_id("dashboard", dashboard.name), attributes, references, target)


def build_objects(dashboard: Dashboard, target: Target) -> list[dict[str, Any]]:
    """Everything one dashboard needs, dependencies first: data view, searches, visualizations, dashboard."""
    objects = [build_data_view(dashboard.data_view, target)]
    objects += [build_search(dashboard, p, target) for p in dashboard.panels if p.type == "search"]
    objects += [build_visualization(dashboard, p, target) for p in dashboard.panels if p.type != "search"]
    objects.append(build_dashboard_object(dashboard, target))
    return objects
