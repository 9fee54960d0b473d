"""Structural checks of saved objects: what Kibana's import would choke on, found before it does."""

from __future__ import annotations

import json
from typing import Any

from pipeline.kibana.builder import INDEX_REF_NAME

JSON_ATTRIBUTES = ("visState", "uiStateJSON", "panelsJSON", "optionsJSON", "fieldFormatMap", "runtimeFieldMap",
                   "fields")
KNOWN_TYPES = ("index-pattern", "search", "visualization", "dashboard", "lens")


def check_objects(objects: list[dict[str, Any]]) -> list[str]:
    """Problems found in a set of saved objects (empty when they are sound)."""
    problems: list[str] = []
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for obj in objects:
        name = f"{obj.get('type')} {obj.get('id')}"
        missing = [k for k in ("type", "id", "attributes", "references") if k not in obj]
        if missing:
            problems.append(f"{name}: missing {', '.join(missing)}")
            continue
        if obj["type"] not in KNOWN_TYPES:
            problems.append(f"{name}: unknown type")
        if not obj["attributes"].get("title"):
            problems.append(f"{name}: no title")
        key = (obj["type"], obj["id"])
        if key in by_key:
            problems.append(f"{name}: duplicate id")
        by_key[key] = obj
    ids = [o.get("id") for o in objects]
    if len(set(ids)) != len(ids):
        problems.append("the same id is used by objects of different types")
    for obj in by_key.values():
        problems += _check_one(obj, by_key)
    return problems


def _parse(obj: dict[str, Any], label: str, text: Any, problems: list[str]) -> Any:
    if not isinstance(text, str):
        problems.append(f"{obj['type']} {obj['id']}: {label} must be a JSON string, as Kibana stores it")
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(f"{obj['type']} {obj['id']}: {label} is not valid JSON ({exc.msg})")
        return None


def _check_one(obj: dict[str, Any], by_key: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    name = f"{obj['type']} {obj['id']}"
    attributes = obj["attributes"]
    refs = {ref.get("name"): ref for ref in obj["references"]}
    for ref in obj["references"]:
        if (ref.get("type"), ref.get("id")) not in by_key:
            problems.append(f"{name}: reference {ref.get('name')} -> {ref.get('type')} {ref.get('id')} "
                            "is not in the file")
    for label in JSON_ATTRIBUTES:
        if label in attributes:
            _parse(obj, label, attributes[label], problems)
    meta = attributes.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
    source = _parse(obj, "searchSourceJSON", meta, problems) if meta is not None else None
    if isinstance(source, dict) and "indexRefName" in source:
        if source["indexRefName"] != INDEX_REF_NAME or INDEX_REF_NAME not in refs:
            problems.append(f"{name}: searchSourceJSON.indexRefName has no matching reference")
        elif refs[INDEX_REF_NAME].get("type") != "index-pattern":
            problems.append(f"{name}: {INDEX_REF_NAME} must reference an index-pattern")
    if obj["type"] in ("visualization", "search") and (not isinstance(source, dict) or "indexRefName" not in source):
        problems.append(f"{name}: no data view (searchSourceJSON.indexRefName)")
    if obj["type"] == "dashboard":
        panels = _parse(obj, "panelsJSON", attributes.get("panelsJSON"), []) or []
        for panel in panels:
            ref_name = panel.get("panelRefName")
            matching = [r for r in refs if r == ref_name or r == f"{panel.get('panelIndex')}:{ref_name}"]
            if not matching:
                problems.append(f"{name}: panel {panel.get('panelIndex')} ({ref_name}) has no reference")
            if panel.get("gridData", {}).get("i") != panel.get("panelIndex"):
                problems.append(f"{name}: panel {panel.get('panelIndex')}: gridData.i differs from panelIndex")
    return problems
