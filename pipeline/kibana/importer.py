"""Import the shipped dashboards into Kibana (used by ``pipeline dashboards import`` and ``pipeline setup``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pipeline.kibana import ndjson, specs
from pipeline.kibana.builder import REPO_DASHBOARDS, build_objects
from pipeline.kibana.errors import KibanaError
from pipeline.kibana.targets import Target, get_target, target_for_version

if TYPE_CHECKING:
    from pipeline.kibana.client import ImportResult

DEFAULT_TIMEOUT = 300.0  # Kibana takes a minute or two to start next to a fresh Elasticsearch


def load_objects(target: Target, source_dir: Path | None = None) -> tuple[list[dict[str, Any]], str]:
    """The saved objects to import and where they came from.

    ``source_dir`` may hold NDJSON files or specs; by default the generated
    ``dashboards/<target>/`` files, or, if they are missing, objects built from ``dashboards/specs``.
    """
    directory = source_dir or REPO_DASHBOARDS / target.name
    if any(directory.glob("*.ndjson")):
        return ndjson.read_dir(directory), str(directory)
    spec_dir = directory if source_dir else REPO_DASHBOARDS / "specs"
    if not any(spec_dir.glob("*.y*ml")):
        raise KibanaError(f"no dashboards to import: neither {directory}/*.ndjson nor {spec_dir}/*.yml exist")
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for dashboard in specs.load_dir(spec_dir):
        for obj in build_objects(dashboard, target):
            seen.setdefault((obj["type"], obj["id"]), obj)
    return list(seen.values()), f"{spec_dir} (built for {target.name})"


def print_result(result: ImportResult, objects: list[dict[str, Any]], out: TextIO) -> None:
    """One line per object: ok (created/overwritten) or the error Kibana gave for it."""
    titles = {(o.get("type"), o.get("id")): o.get("attributes", {}).get("title", "") for o in objects}
    for item in result.results:
        key = (item.get("type"), item.get("id"))
        title = item.get("meta", {}).get("title") or titles.get(key, "")
        how = "overwritten" if item.get("overwrite") else "created"
        moved = f" as {item['destinationId']}" if item.get("destinationId") else ""
        print(f"  ok     {item.get('type'):<14} {item.get('id')}  {title} ({how}{moved})", file=out)
    for error in result.errors:
        print(f"  ERROR  {error.get('type'):<14} {error.get('id')}  {error.get('title', '')}: "
              f"{describe_error(error.get('error', {}))}", file=out)


def describe_error(error: dict[str, Any]) -> str:
    kind = error.get("type", "unknown")
    if kind == "missing_references":
        refs = ", ".join(f"{r.get('type')} {r.get('id')}" for r in error.get("references", []))
        return f"missing references ({refs})"
    if kind == "unsupported_type":
        return "this Kibana does not know this type (wrong --target?)"
    if kind == "conflict":
        return "conflicts with an existing object (import without overwrite?)"
    return str(error.get("message") or error.get("reason") or kind)


def import_dashboards(kibana_url: str, *, user: str | None = None, password: str | None = None,
                      api_key: str | None = None, space: str | None = None, target: str = "auto",
                      source_dir: Path | None = None, timeout: float = DEFAULT_TIMEOUT,
                      out: TextIO | None = None, raise_on_error: bool = True,
                      verify: bool | str = True) -> dict[str, Any]:
    """Wait for Kibana, import the dashboards with overwrite, print one line per object.

    ``target`` ``auto`` picks the flavour from the version Kibana reports. Returns a summary
    (``success``, ``objects``, ``imported``, ``errors``, ``target``, ``kibana``); raises
    KibanaError when Kibana is unreachable, not ready in time, refuses the request, or
    (with ``raise_on_error``) rejects any object. ``verify``: TLS verification (False, or a CA file).
    """
    # Here, not at the top: the client brings requests (~90 ms), which declaring the commands' options
    # (`pipeline --help`) does not need.
    from pipeline.kibana.client import KibanaClient

    stream = out or sys.stdout
    client = KibanaClient(kibana_url, user=user, password=password, api_key=api_key, space=space, verify=verify)
    status = client.wait_ready(timeout, log=lambda msg: print(f"kibana: {msg}", file=stream, flush=True))
    version = str(status.get("version", {}).get("number", "unknown"))
    flavour = target_for_version(version) if target == "auto" else get_target(target)
    objects, origin = load_objects(flavour, source_dir)
    print(f"kibana: {kibana_url} {version} is ready; importing {len(objects)} objects ({flavour.name}) "
          f"from {origin} into space {space or 'default'}", file=stream, flush=True)
    result = client.import_ndjson(ndjson.dumps(objects, "pipeline dashboards import"))
    print_result(result, objects, stream)
    summary = {"success": result.success and not result.errors, "objects": len(objects),
               "imported": result.success_count, "errors": len(result.errors), "target": flavour.name,
               "kibana": version}
    print(f"kibana: imported {result.success_count} of {len(objects)} objects"
          + (f", {len(result.errors)} rejected" if result.errors else ""), file=stream, flush=True)
    if raise_on_error and not summary["success"]:
        raise KibanaError(f"Kibana rejected {len(result.errors)} of {len(objects)} saved objects (listed above)")
    return summary
