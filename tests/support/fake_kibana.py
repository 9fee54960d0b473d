"""A strict fake Kibana for tests: ``GET /api/status`` and ``POST [/s/<space>]/api/saved_objects/_import``.

    with FakeKibana(user="elastic", password="pw", not_ready_for=2) as kibana:
        ...import into kibana.url...
        assert kibana.saved["default"][("dashboard", some_id)]["attributes"]["title"] == ...

It rejects what Kibana rejects: a missing ``kbn-xsrf`` header (400), bad credentials (401),
an unknown space (404), a body that is not ``multipart/form-data`` with one ``file`` part named
``*.ndjson`` (400 / 415), lines that are not JSON objects (400). Per object it answers like
Kibana's documented import response: ``missing_references`` when a reference is neither in the
file nor already saved, ``unsupported_type`` for unknown types, ``conflict`` without overwrite,
and ``unknown`` for documents Kibana could not migrate (bad JSON-in-string fields, migration
versions newer than this Kibana, panels whose ``panelRefName`` has no reference).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TYPES = {"index-pattern": "indexPatternApp", "search": "discoverApp", "visualization": "visualizeApp",
         "dashboard": "dashboardApp", "lens": "lensApp", "config": "advancedSettingsApp"}
JSON_STRINGS = ("visState", "uiStateJSON", "panelsJSON", "optionsJSON", "fieldFormatMap", "runtimeFieldMap")
# Kibana 8's attribute schemas per type (unknown keys are refused, ``unknowns: 'forbid'``).
ATTRIBUTE_SCHEMAS = {
    "dashboard": {"title", "description", "kibanaSavedObjectMeta", "timeRestore", "timeFrom", "timeTo",
                  "refreshInterval", "controlGroupInput", "panelsJSON", "optionsJSON", "hits", "version"},
    "visualization": {"title", "description", "version", "kibanaSavedObjectMeta", "uiStateJSON", "visState",
                      "savedSearchRefName"},
    "search": {"title", "description", "columns", "sort", "grid", "rowHeight", "rowsPerPage", "hideChart",
               "breakdownField", "kibanaSavedObjectMeta", "isTextBasedQuery", "usesAdHocDataView", "timeRestore",
               "timeRange", "refreshInterval", "viewMode", "hideAggregatedPreview", "hits", "version"},
}
# The last migration of each type in Kibana 7.10: a document claiming a newer one is refused.
LAST_MIGRATION_7_10 = {"index-pattern": "7.6.0", "search": "7.9.3", "visualization": "7.10.0", "dashboard": "7.9.3"}
_IMPORT = re.compile(r"^(?:/s/(?P<space>[a-z0-9_-]+))?/api/saved_objects/_import$")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


class FakeKibana:
    def __init__(self, version: str = "8.15.3", *, user: str | None = None, password: str | None = None,
                 api_key: str | None = None, spaces: tuple[str, ...] = ("default",), not_ready_for: int = 0,
                 reject: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None) -> None:
        self.version = version
        self.credentials = (user, password) if user else None
        self.api_key = api_key  # the base64 form, as sent in "Authorization: ApiKey <key>"
        self.saved: dict[str, dict[tuple[str, str], dict[str, Any]]] = {s: {} for s in spaces}
        self.not_ready_for = not_ready_for
        self.reject = reject  # extra per-object rule: returns a Kibana error object or None
        self.requests: list[RecordedRequest] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> FakeKibana:
        fake = self

        class Handler(_Handler):
            kibana = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-kibana", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeKibana:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def modern(self) -> bool:
        return _version(self.version) >= (8, 0)

    # -- request handling -----------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        with self.lock:
            self.requests.append(RecordedRequest(method, parts.path, parse_qs(parts.query), headers, body))
        if not self._authorized(headers):
            return 401, {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"}
        if parts.path == "/api/status" and method == "GET":
            return self._status()
        match = _IMPORT.match(parts.path)
        if match and method == "POST":
            return self._import(match.group("space") or "default", parse_qs(parts.query), headers, body)
        return 404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"}

    def _authorized(self, headers: dict[str, str]) -> bool:
        if not self.credentials and not self.api_key:
            return True
        given = headers.get("authorization", "")
        if self.api_key and given == f"ApiKey {self.api_key}":
            return True
        if self.credentials and given.startswith("Basic "):
            user, _, password = base64.b64decode(given[6:]).decode().partition(":")
            return (user, password) == self.credentials
        return False

    def _status(self) -> tuple[int, Any]:
        with self.lock:
            ready = self.not_ready_for <= 0
            self.not_ready_for -= 1
        if self.modern:
            overall = {"level": "available" if ready else "unavailable", "summary": "fake"}
        else:
            overall = {"state": "green" if ready else "red", "title": "Green" if ready else "Red"}
        body = {"name": "fake-kibana", "version": {"number": self.version, "build_snapshot": False},
                "status": {"overall": overall}}
        return (200 if ready else 503), body

    def _import(self, space: str, query: dict[str, list[str]], headers: dict[str, str],
                body: bytes) -> tuple[int, Any]:
        if "kbn-xsrf" not in headers and "osd-xsrf" not in headers:
            return 400, _bad("Request must contain a kbn-xsrf header.")
        if space not in self.saved:
            return 404, {"statusCode": 404, "error": "Not Found", "message": f"Saved object [space/{space}] not found"}
        content_type = headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data") or "boundary=" not in content_type:
            return 415, {"statusCode": 415, "error": "Unsupported Media Type", "message": "Unsupported Media Type"}
        files = _multipart_files(content_type, body)
        if set(files) != {"file"}:
            return 400, _bad(f"[request body.file]: expected exactly one 'file' part, got {sorted(files)}")
        filename, payload = files["file"]
        if not filename.endswith(".ndjson"):
            return 400, _bad(f"Invalid file extension {filename[filename.rfind('.'):] or filename}")
        objects = []
        for line in payload.decode("utf-8").splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                return 400, _bad(f"Unexpected token in JSON: {exc.msg}")
            if not isinstance(obj, dict):
                return 400, _bad("each line must be a JSON object")
            if "exportedCount" not in obj:
                objects.append(obj)
        overwrite = query.get("overwrite", ["false"])[0] == "true"
        return 200, self._store(space, objects, overwrite)

    def _store(self, space: str, objects: list[dict[str, Any]], overwrite: bool) -> dict[str, Any]:
        store = self.saved[space]
        in_file = {(o.get("type"), o.get("id")) for o in objects}
        results, errors = [], []
        for obj in objects:
            kind, oid = obj.get("type"), obj.get("id")
            title = obj.get("attributes", {}).get("title", "") if isinstance(obj.get("attributes"), dict) else ""
            meta = {"title": title, "icon": TYPES.get(str(kind), "")}
            error = self._object_error(obj, in_file, store, overwrite)
            if error:
                errors.append({"id": oid, "type": kind, "title": title, "meta": meta, "error": error})
                continue
            existed = (kind, oid) in store
            with self.lock:
                store[(kind, oid)] = obj
            result = {"type": kind, "id": oid, "meta": meta}
            if existed:
                result["overwrite"] = True
            results.append(result)
        response: dict[str, Any] = {"success": not errors, "successCount": len(results)}
        if results:
            response["successResults"] = results
        if errors:
            response["errors"] = errors
        return response

    def _object_error(self, obj: dict[str, Any], in_file: set[tuple[Any, Any]],
                      store: dict[tuple[str, str], dict[str, Any]], overwrite: bool) -> dict[str, Any] | None:
        kind = obj.get("type")
        if kind not in TYPES:
            return {"type": "unsupported_type"}
        if not isinstance(obj.get("id"), str) or not isinstance(obj.get("attributes"), dict) \
                or not isinstance(obj.get("references", []), list):
            return {"type": "unknown", "message": "an object needs a string id, attributes and references"}
        if (kind, obj["id"]) in store and not overwrite:
            return {"type": "conflict"}
        migration = self._migration_problem(obj)
        if migration:
            return {"type": "unknown", "message": migration, "statusCode": 400}
        missing = [{"type": r.get("type"), "id": r.get("id")} for r in obj.get("references", [])
                   if (r.get("type"), r.get("id")) not in in_file and (r.get("type"), r.get("id")) not in store]
        if missing:
            return {"type": "missing_references", "references": missing}
        return self.reject(obj) if self.reject else None

    def _migration_problem(self, obj: dict[str, Any]) -> str | None:
        mine = _version(self.version)
        versions = [obj.get("typeMigrationVersion"), obj.get("coreMigrationVersion"),
                    *(obj.get("migrationVersion") or {}).values()]
        if "typeMigrationVersion" in obj and mine < (8, 8):
            return "typeMigrationVersion is only understood by Kibana 8.8 and later"
        if not self.modern and obj["type"] in LAST_MIGRATION_7_10:
            mine = _version(LAST_MIGRATION_7_10[obj["type"]])
        for version in filter(None, versions):
            if _version(str(version)) > mine:
                return (f"Document \"{obj['id']}\" has property \"{obj['type']}\" which belongs to a more recent "
                        f"version of Kibana [{version}]")
        attributes = obj["attributes"]
        texts = [(k, attributes[k]) for k in JSON_STRINGS if k in attributes]
        meta = attributes.get("kibanaSavedObjectMeta", {})
        if "searchSourceJSON" in meta:
            texts.append(("searchSourceJSON", meta["searchSourceJSON"]))
        for key, text in texts:
            try:
                json.loads(text)
            except (TypeError, json.JSONDecodeError):
                return f"Unable to migrate: {key} is not a JSON string"
        allowed = ATTRIBUTE_SCHEMAS.get(obj["type"])
        unknown = sorted(set(attributes) - allowed) if allowed else []
        if unknown and self.modern:
            return f"[attributes.{unknown[0]}]: definition for this key is missing"
        if obj["type"] == "dashboard":
            names = {r.get("name") for r in obj.get("references", [])}
            for panel in json.loads(attributes.get("panelsJSON", "[]")):
                ref = panel.get("panelRefName")
                if ref and ref not in names and f"{panel.get('panelIndex')}:{ref}" not in names:
                    return f"Could not find reference \"{ref}\""
        return None


def _bad(message: str) -> dict[str, Any]:
    return {"statusCode": 400, "error": "Bad Request", "message": message}


def _multipart_files(content_type: str, body: bytes) -> dict[str, tuple[str, bytes]]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if name:
            files[str(name)] = (part.get_filename() or "", payload if isinstance(payload, bytes) else b"")
    return files


class _Handler(BaseHTTPRequestHandler):
    kibana: FakeKibana
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer = self.kibana.handle(self.command, self.path, headers, body)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass
