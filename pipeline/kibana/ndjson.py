"""NDJSON as Kibana's export writes it, with a trailer line marking the file as generated.

Each saved object is one compact JSON line with sorted keys (stable, readable diffs). The last
line is an export-details record like Kibana's own (``exportedCount`` ...); Kibana's import
skips any line carrying ``exportedCount``, so it is the one place a "generated" marker can
live without breaking the import.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.kibana.builder import build_objects
from pipeline.kibana.errors import SpecError
from pipeline.kibana.specs import Dashboard
from pipeline.kibana.targets import Target

GENERATED_KEY = "generatedBy"


def dumps_line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def generated_marker(source: str, target: Target) -> str:
    return (f"pipeline dashboards build --target {target.name} from dashboards/specs/{Path(source).name}; "
            "do not edit: change the spec and rebuild")


def dumps(objects: list[dict[str, Any]], marker: str) -> str:
    """The NDJSON text of ``objects`` followed by the export-details trailer."""
    details = {"excludedObjects": [], "excludedObjectsCount": 0, "exportedCount": len(objects),
               GENERATED_KEY: marker, "missingRefCount": 0, "missingReferences": []}
    return "".join(dumps_line(o) + "\n" for o in objects) + dumps_line(details) + "\n"


def render(dashboard: Dashboard, target: Target) -> str:
    """The NDJSON file content for one dashboard spec."""
    return dumps(build_objects(dashboard, target), generated_marker(dashboard.source, target))


def file_name(dashboard: Dashboard) -> str:
    return f"{dashboard.name}.ndjson"


def write_all(dashboards: Iterable[Dashboard], target: Target, out_dir: Path) -> list[Path]:
    """Write one NDJSON per dashboard into ``out_dir``; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for dashboard in dashboards:
        path = out_dir / file_name(dashboard)
        path.write_text(render(dashboard, target), encoding="utf-8")
        written.append(path)
    return written


def loads(text: str, source: str = "<ndjson>") -> list[dict[str, Any]]:
    """The saved objects of an NDJSON export (export-details lines dropped, like Kibana does)."""
    objects = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SpecError(f"not a JSON object: {exc.msg}", source, number) from exc
        if not isinstance(obj, dict):
            raise SpecError("each line must be a JSON object", source, number)
        if "exportedCount" in obj:
            continue
        objects.append(obj)
    return objects


def read_dir(directory: Path) -> list[dict[str, Any]]:
    """All saved objects of ``directory/*.ndjson``, shared ones (the data view) once, in file order."""
    files = sorted(directory.glob("*.ndjson"))
    if not files:
        raise FileNotFoundError(f"no *.ndjson files in {directory} (run: pipeline dashboards build)")
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for path in files:
        for obj in loads(path.read_text(encoding="utf-8"), str(path)):
            seen.setdefault((str(obj.get("type")), str(obj.get("id"))), obj)
    return list(seen.values())
