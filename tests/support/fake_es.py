"""A strict fake Elasticsearch for tests: real REST shapes, request validation, fault injection.

Start it with the ``fake_es`` context manager (or :class:`FakeElasticsearch` ``start()/stop()``)::

    with FakeElasticsearch() as es:
        client = Elasticsearch(es.url)
        es.fail_requests(2, status=429)          # the next 2 requests answer 429
        es.fail_items(lambda item: 400 if item.source.get("bad") else None)
        ...
        assert es.count("logs-2026.11.21") == 10

It answers on 127.0.0.1 only, with the ``X-Elastic-Product: Elasticsearch``
header on every response, and rejects what a real cluster rejects:
malformed NDJSON, unknown bulk metadata, bad index names, unknown query or
aggregation keys, media types of an incompatible major version. Anything
it cannot emulate answers 400 ``fake_es_unsupported`` so a test never passes
on a silent approximation; ``search_handler(index, body)`` can take over
``_search``/``_count`` for richer queries.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

JSON = "application/json"
_INVALID_INDEX_CHARS = set('\\/*?"<>| ,#:')
_COMPAT_RE = re.compile(r"application/vnd\.elasticsearch\+(json|x-ndjson);\s*compatible-with=(\d+)")
_BULK_META = {
    "index": {"_index", "_id", "routing", "pipeline", "require_alias", "if_seq_no", "if_primary_term",
              "version", "version_type", "dynamic_templates", "require_data_stream", "op_type"},
    "create": {"_index", "_id", "routing", "pipeline", "require_alias", "version", "version_type",
               "dynamic_templates", "require_data_stream"},
    "update": {"_index", "_id", "routing", "require_alias", "if_seq_no", "if_primary_term", "retry_on_conflict"},
    "delete": {"_index", "_id", "routing", "if_seq_no", "if_primary_term", "version", "version_type"},
}
_SEARCH_KEYS = {"query", "aggs", "aggregations", "size", "from", "sort", "_source", "track_total_hits",
                "pit", "search_after", "fields", "timeout", "stored_fields", "docvalue_fields", "version",
                "seq_no_primary_term", "runtime_mappings", "post_filter", "min_score", "highlight"}
_ILM_ACTIONS = {
    "hot": {"rollover", "set_priority", "unfollow", "readonly", "shrink", "forcemerge", "searchable_snapshot",
            "downsample"},
    "warm": {"set_priority", "unfollow", "readonly", "allocate", "migrate", "shrink", "forcemerge", "downsample"},
    "cold": {"set_priority", "unfollow", "readonly", "allocate", "migrate", "searchable_snapshot", "downsample"},
    "frozen": {"unfollow", "searchable_snapshot"},
    "delete": {"wait_for_snapshot", "delete"},
}
_TEMPLATE_KEYS = {"index_patterns", "template", "composed_of", "priority", "version", "_meta", "data_stream",
                  "allow_auto_create", "ignore_missing_component_templates", "deprecated"}

BUILTIN_LOGS_TEMPLATE: dict[str, Any] = {
    "index_patterns": ["logs-*-*"],
    "composed_of": ["logs@mappings", "logs@settings", "logs@custom", "ecs@mappings"],
    "priority": 100,
    "version": 14,
    "_meta": {"description": "default logs template installed by x-pack", "managed": True},
    "data_stream": {"hidden": False, "allow_custom_routing": False},
    "allow_auto_create": True,
    "ignore_missing_component_templates": ["logs@custom"],
}


class EsError(Exception):
    """An error answered the way Elasticsearch shapes it."""

    def __init__(self, status: int, err_type: str, reason: str, **extra: Any) -> None:
        super().__init__(reason)
        self.status, self.err_type, self.reason, self.extra = status, err_type, reason, extra

    def body(self) -> dict[str, Any]:
        cause = {"type": self.err_type, "reason": self.reason,
                 **{k: v for k, v in self.extra.items() if k != "header"}}
        return {"error": {"root_cause": [cause], **cause}, "status": self.status}


@dataclass
class BulkItem:
    """One bulk action as the fault hooks see it."""

    action: str
    index: str
    id: str | None
    source: dict[str, Any]
    request_number: int


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Index:
    name: str
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # dynamic mapping: field path -> "object"|"long"|...
    data_stream: bool = False
    mappings: dict[str, Any] = field(default_factory=dict)  # from the matching template, as a real engine applies it
    created: float = field(default_factory=time.time)
    versions: dict[str, int] = field(default_factory=dict)
    seq_no: int = 0


class FakeElasticsearch:
    """The fake cluster: state, fault plan and the HTTP server in a thread."""

    def __init__(self, version: str = "8.15.0", *, builtin_logs_template: bool = False,
                 search_handler: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
                 user: str | None = None, password: str | None = None,
                 tls: tuple[str, str] | None = None, ssl_context: Any = None,
                 path_prefix: str | None = None,
                 request_check: Callable[[str, str, dict[str, str], bytes], None] | None = None) -> None:
        self.version = version
        self.indices: dict[str, Index] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.legacy_templates: dict[str, dict[str, Any]] = {}  # PUT _template/<name> (deprecated API)
        self.aliases: dict[str, dict[str, dict[str, Any]]] = {}  # alias -> {index: {"is_write_index": ...}}
        self.policies: dict[str, dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self.search_handler = search_handler
        self.auth = (user, password) if user else None
        self.tls = tls  # (certfile, keyfile): serve https
        self.ssl_context = ssl_context  # or a whole ssl.SSLContext (client certificates, versions ...)
        self.path_prefix = "/" + path_prefix.strip("/") if path_prefix else None  # as behind a proxy
        # (method, raw path, headers, body as received, before gzip) -> None, or raise EsError: a request
        # signature check, say; recorded in check_failures too
        self.request_check = request_check
        self.check_failures: list[str] = []
        self.lock = threading.RLock()
        self._request_faults: list[tuple[str, Any]] = []
        self._request_fault_filter: Callable[[str, str], bool] = lambda method, path: True
        self._item_fault: Callable[[BulkItem], int | None] | None = None
        self._scrolls: dict[str, list[dict[str, Any]]] = {}
        self._pits: dict[str, str] = {}  # point-in-time id -> index expression
        self._request_counter = itertools.count(1)
        self.bulk_requests = 0
        #: like http.max_content_length: larger request bodies get 413 (None = no limit)
        self.max_content_length: int | None = None
        if builtin_logs_template:
            self.templates["logs"] = json.loads(json.dumps(BUILTIN_LOGS_TEMPLATE))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------
    def start(self, port: int = 0) -> FakeElasticsearch:
        fake = self

        class Handler(_Handler):
            es = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if self.tls or self.ssl_context:
            import ssl

            context = self.ssl_context
            if context is None:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-es",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeElasticsearch:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"{'https' if self.tls or self.ssl_context else 'http'}://127.0.0.1:{self.port}"

    # -- fault injection ------------------------------------------------------
    def fail_requests(self, count: int, status: int = 503, *, only: str | None = None) -> None:
        """The next ``count`` requests (whose path contains ``only``, if given) answer ``status``."""
        with self.lock:
            self._request_faults.extend([("status", status)] * count)
            self._request_fault_filter = (lambda m, p: only in p) if only else (lambda m, p: True)

    def drop_connections(self, count: int, *, only: str | None = None) -> None:
        """The next ``count`` requests are processed, then the connection closes mid-response.

        Like a proxy timing out after Elasticsearch did the work: a bulk is applied but the
        client never sees the answer (so it must retry, and ``document_id`` keeps it idempotent).
        """
        with self.lock:
            self._request_faults.extend([("drop", None)] * count)
            self._request_fault_filter = (lambda m, p: only in p) if only else (lambda m, p: True)

    def slow_requests(self, count: int, delay: float) -> None:
        """The next ``count`` requests wait ``delay`` seconds before answering."""
        with self.lock:
            self._request_faults.extend([("slow", delay)] * count)

    def fail_items(self, rule: Callable[[BulkItem], int | None] | None) -> None:
        """Per-item faults: ``rule(item)`` returns a status (400, 404, 409, 429 ...) or None."""
        with self.lock:
            self._item_fault = rule

    def clear_faults(self) -> None:
        with self.lock:
            self._request_faults.clear()
            self._item_fault = None

    def _next_fault(self, method: str, path: str) -> tuple[str, Any] | None:
        with self.lock:
            if self._request_faults and self._request_fault_filter(method, path):
                return self._request_faults.pop(0)
        return None

    # -- inspection helpers for tests ------------------------------------------
    def docs(self, pattern: str = "*") -> list[dict[str, Any]]:
        """Every stored document (``_index``, ``_id``, ``_source``) in indices matching ``pattern``."""
        with self.lock:
            return [{"_index": idx.name, "_id": doc_id, "_source": source}
                    for idx in self.indices.values() if fnmatch.fnmatchcase(idx.name, pattern)
                    for doc_id, source in idx.docs.items()]

    def count(self, pattern: str = "*") -> int:
        return len(self.docs(pattern))

    def add_documents(self, index: str, docs: list[dict[str, Any]]) -> None:
        """Load documents directly (ids generated), e.g. to prepare a search or archive test."""
        with self.lock:
            target = self._index_for_write(index, "index")
            for source in docs:
                doc_id = uuid.uuid4().hex[:20]
                target.docs[doc_id] = source

    # -- request dispatch -----------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        path = unquote(parts.path)
        with self.lock:
            self.requests.append(RecordedRequest(method, path, query, headers, body))
        if self.path_prefix:
            if parts.path != self.path_prefix and not parts.path.startswith(self.path_prefix + "/"):
                raise EsError(404, "not_found", f"{parts.path} is outside {self.path_prefix} (the proxy's path)")
            parts = parts._replace(path=parts.path[len(self.path_prefix):] or "/")
        self._check_auth(headers)
        self._check_media_types(headers, body)
        segments = [unquote(s) for s in parts.path.split("/") if s]  # %2F inside a name (date math) stays
        route = _route(method, segments)
        if route is None:
            raise EsError(405 if segments else 400, "illegal_argument_exception",
                          f"Incorrect HTTP method for uri [{raw_path}] and method [{method}]")
        name, args = route
        return getattr(self, f"_api_{name}")(*args, query=query, body=body)

    def _check_auth(self, headers: dict[str, str]) -> None:
        if self.auth is None:
            return
        import base64

        expected = "Basic " + base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
        if headers.get("authorization") != expected:
            raise EsError(401, "security_exception", "missing authentication credentials for REST request",
                          header={"WWW-Authenticate": 'Basic realm="security" charset="UTF-8"'})

    def _check_media_types(self, headers: dict[str, str], body: bytes) -> None:
        major = int(self.version.split(".")[0])
        versions = {}
        for name in ("accept", "content-type"):
            value = headers.get(name, "")
            match = _COMPAT_RE.search(value)
            if match:
                versions[name] = int(match.group(2))
                if int(match.group(2)) not in (major, major - 1):
                    raise EsError(400, "media_type_header_exception",
                                  "Invalid media-type value on headers [Accept, Content-Type]",
                                  caused_by={"type": "status_exception", "reason":
                                             f"{name.title()} version must be either version {major} or "
                                             f"{major - 1}, but found {match.group(2)}. "
                                             f"{name.title()}={value}"})
        if body and len(versions) == 1 and "content-type" in headers and "accept" in headers:
            raise EsError(400, "media_type_header_exception",
                          "Invalid media-type value on headers [Accept, Content-Type]",
                          caused_by={"type": "status_exception", "reason": "A compatible version is "
                                     "required on both Content-Type and Accept headers if either one has "
                                     "requested a compatible version."})
        if body:
            ctype = headers.get("content-type", "")
            if not any(t in ctype for t in ("json", "x-ndjson")):
                raise EsError(406, "illegal_argument_exception",
                              f"Content-Type header [{ctype}] is not supported")

    # -- root -------------------------------------------------------------------
    def _api_info(self, *, query: Any, body: bytes) -> tuple[int, Any]:
        return 200, {
            "name": "fake-node-1", "cluster_name": "fake", "cluster_uuid": "fakeUUIDfakeUUIDfake00",
            "version": {"number": self.version, "build_flavor": "default", "build_type": "docker",
                        "lucene_version": "9.11.1", "minimum_wire_compatibility_version": "7.17.0",
                        "minimum_index_compatibility_version": "7.0.0"},
            "tagline": "You Know, for Search",
        }

    def _api_ping(self, *, query: Any, body: bytes) -> tuple[int, Any]:
        return 200, None

    # -- bulk -------------------------------------------------------------------
    def _api_bulk(self, path_index: str | None, *, query: Any, body: bytes) -> tuple[int, Any]:
        started = time.monotonic()
        if not body:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: no requests added;")
        if not body.endswith(b"\n"):
            raise EsError(400, "illegal_argument_exception",
                          "The bulk request must be terminated by a newline [\\n]")
        lines = body.split(b"\n")[:-1]
        number = next(self._request_counter)
        actions: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        pos = 0
        while pos < len(lines):
            line_no = pos + 1
            meta_line = _parse_json_object(lines[pos], line_no)
            if len(meta_line) != 1:
                raise EsError(400, "illegal_argument_exception",
                              f"Malformed action/metadata line [{line_no}], expected a simple value for "
                              f"field [{next(iter(meta_line), '')}] but found [START_OBJECT]")
            action, meta = next(iter(meta_line.items()))
            if action not in _BULK_META:
                raise EsError(400, "illegal_argument_exception",
                              f"Malformed action/metadata line [{line_no}], expected one of [create, delete, "
                              f"index, update] but found [{action}]")
            if not isinstance(meta, dict):
                raise EsError(400, "illegal_argument_exception",
                              f"Malformed action/metadata line [{line_no}], expected START_OBJECT")
            for key in meta:
                if key not in _BULK_META[action]:
                    raise EsError(400, "illegal_argument_exception",
                                  f"Action/metadata line [{line_no}] contains an unknown parameter [{key}]")
            index = meta.get("_index", path_index)
            if not index:
                raise EsError(400, "action_request_validation_exception",
                              f"Validation Failed: 1: index is missing;{' ' * 0}")
            meta = {**meta, "_index": index}
            source = None
            if action != "delete":
                pos += 1
                if pos >= len(lines):
                    raise EsError(400, "illegal_argument_exception",
                                  "The bulk request must be terminated by a newline [\\n]")
                source = _parse_json_object(lines[pos], pos + 1)
            actions.append((action, meta, source))
            pos += 1
        with self.lock:
            self.bulk_requests += 1
            items = [self._bulk_item(action, meta, source, number) for action, meta, source in actions]
        errors = any("error" in next(iter(i.values())) for i in items)
        return 200, {"errors": errors, "took": int((time.monotonic() - started) * 1000), "items": items}

    def _bulk_item(self, action: str, meta: dict[str, Any], source: dict[str, Any] | None,
                   number: int) -> dict[str, Any]:
        index_name = str(meta["_index"])
        doc_id = meta.get("_id")
        if doc_id is not None:
            doc_id = str(doc_id)
        head: dict[str, Any] = {"_index": index_name, "_id": doc_id}
        try:
            if self._item_fault is not None:
                status = self._item_fault(BulkItem(action, index_name, doc_id, source or {}, number))
                if status is not None:
                    raise _item_fault_error(status, index_name, doc_id)
            return {action: {**head, **self._apply(action, index_name, doc_id, meta, source)}}
        except EsError as exc:
            body = exc.body()["error"]
            body.pop("root_cause", None)
            if exc.err_type == "not_found":
                return {action: {**head, "_version": 1, "result": "not_found", "status": 404}}
            return {action: {**head, "status": exc.status, "error": body}}

    def _apply(self, action: str, index_name: str, doc_id: str | None, meta: dict[str, Any],
               source: dict[str, Any] | None) -> dict[str, Any]:
        idx = self._index_for_write(index_name, action)
        if idx.data_stream and action != "create":
            raise EsError(400, "illegal_argument_exception",
                          "only write ops with an op_type of create are allowed in data streams")
        if action in ("index", "create") and source is not None:
            _check_dynamic_mapping(idx, source)
        if doc_id is None:
            if action in ("update", "delete"):
                raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: id is missing;")
            doc_id = uuid.uuid4().hex[:20]
        result = "created"
        status = 201
        if action == "create":
            if doc_id in idx.docs:
                raise EsError(409, "version_conflict_engine_exception",
                              f"[{doc_id}]: version conflict, document already exists (current version "
                              f"[{idx.versions.get(doc_id, 1)}])", index=index_name, shard="0")
            idx.docs[doc_id] = source or {}
        elif action == "index":
            if doc_id in idx.docs:
                result, status = "updated", 200
            idx.docs[doc_id] = source or {}
        elif action == "update":
            assert source is not None
            if set(source) - {"doc", "doc_as_upsert", "upsert", "script", "scripted_upsert", "detect_noop",
                              "_source"}:
                raise EsError(400, "x_content_parse_exception",
                              f"[1:2] [UpdateRequest] unknown field [{sorted(source)[0]}]")
            if doc_id not in idx.docs:
                if source.get("doc_as_upsert") and "doc" in source:
                    idx.docs[doc_id] = dict(source["doc"])
                elif "upsert" in source:
                    idx.docs[doc_id] = dict(source["upsert"])
                else:
                    raise EsError(404, "document_missing_exception", f"[{doc_id}]: document missing",
                                  index=index_name, shard="0")
            else:
                if "script" in source:
                    raise EsError(400, "fake_es_unsupported", "fake_es does not run scripts")
                _deep_merge(idx.docs[doc_id], source.get("doc", {}))
                result, status = "updated", 200
        else:  # delete
            if doc_id not in idx.docs:
                raise EsError(404, "not_found", "")
            del idx.docs[doc_id]
            result, status = "deleted", 200
        idx.versions[doc_id] = idx.versions.get(doc_id, 0) + 1
        idx.seq_no += 1
        return {"_id": doc_id, "_version": idx.versions[doc_id], "result": result,
                "_shards": {"total": 2, "successful": 1, "failed": 0},
                "_seq_no": idx.seq_no - 1, "_primary_term": 1, "status": status}

    def _index_for_write(self, name: str, action: str) -> Index:
        if name in self.aliases:  # a rollover alias: write to its write index (ES: the only one, or is_write_index)
            targets = self.aliases[name]
            writes = [i for i, spec in targets.items() if spec.get("is_write_index")] or (
                list(targets) if len(targets) == 1 else [])
            if not writes:
                raise EsError(400, "illegal_argument_exception",
                              f"no write index is defined for alias [{name}]. The write index may be explicitly "
                              "disabled using is_write_index=false or the alias points to multiple indices "
                              "without one being designated as a write index")
            name = writes[0]
        _validate_index_name(name)
        idx = self.indices.get(name)
        if idx is None:
            template = self.matching_template(name)
            data_stream = bool(template and "data_stream" in template[1])
            mappings = json.loads(json.dumps(template[1].get("template", {}).get("mappings", {}))) if template else {}
            idx = self.indices[name] = Index(name, data_stream=data_stream, mappings=mappings)
            # Explicit mappings fix field types before the first document, as on a real engine: a string
            # into a template's long field is refused even in the index's first document.
            idx.kinds.update(_kinds_of_properties(mappings.get("properties", {})))
        return idx

    def matching_template(self, index: str) -> tuple[str, dict[str, Any]] | None:
        """The composable template ES would apply to a new index (highest priority wins)."""
        best: tuple[str, dict[str, Any]] | None = None
        for name, tpl in self.templates.items():
            if any(fnmatch.fnmatchcase(index, p) for p in tpl.get("index_patterns", [])):
                if best is None or tpl.get("priority", 0) > best[1].get("priority", 0):
                    best = (name, tpl)
        return best

    # -- templates and ILM --------------------------------------------------------
    def _api_put_template(self, name: str, *, query: Any, body: bytes) -> tuple[int, Any]:
        doc = _parse_body(body)
        for key in doc:
            if key not in _TEMPLATE_KEYS:
                raise EsError(400, "x_content_parse_exception",
                              f"[1:2] [index_template] unknown field [{key}]")
        patterns = doc.get("index_patterns")
        if not patterns or not isinstance(patterns, (list, str)):
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: index patterns are missing;")
        patterns = [patterns] if isinstance(patterns, str) else patterns
        priority = doc.get("priority", 0)
        for other_name, other in self.templates.items():
            if other_name == name or other.get("priority", 0) != priority:
                continue
            if _patterns_overlap(patterns, other.get("index_patterns", [])):
                raise EsError(400, "illegal_argument_exception",
                              f"index template [{name}] has index patterns {patterns} matching patterns "
                              f"from existing templates [{other_name}] with patterns ({other_name} => "
                              f"{other['index_patterns']}) that have the same priority [{priority}], "
                              "multiple index templates may not match during index creation, please use "
                              "a different priority")
        mappings = (doc.get("template") or {}).get("mappings") or {}
        _validate_mappings(mappings)
        with self.lock:
            self.templates[name] = {**doc, "index_patterns": patterns}
        return 200, {"acknowledged": True}

    def _api_get_template(self, name: str | None, *, query: Any, body: bytes) -> tuple[int, Any]:
        with self.lock:
            found = [{"name": n, "index_template": t} for n, t in sorted(self.templates.items())
                     if name is None or fnmatch.fnmatchcase(n, name)]
        if name is not None and not found:
            raise EsError(404, "resource_not_found_exception", f"index template matching [{name}] not found")
        return 200, {"index_templates": found}

    def _api_delete_template(self, name: str, *, query: Any, body: bytes) -> tuple[int, Any]:
        with self.lock:
            if self.templates.pop(name, None) is None:
                raise EsError(404, "resource_not_found_exception", f"index_template [{name}] missing")
        return 200, {"acknowledged": True}

    def _api_put_policy(self, name: str, *, query: Any, body: bytes) -> tuple[int, Any]:
        doc = _parse_body(body)
        if set(doc) != {"policy"} or not isinstance(doc["policy"], dict):
            raise EsError(400, "x_content_parse_exception", "[1:2] [put_lifecycle_request] expects [policy]")
        policy = doc["policy"]
        for key in policy:
            if key not in ("phases", "_meta"):
                raise EsError(400, "x_content_parse_exception", f"[1:12] [policy] unknown field [{key}]")
        for phase, spec in (policy.get("phases") or {}).items():
            if phase not in _ILM_ACTIONS:
                raise EsError(400, "illegal_argument_exception", f"Lifecycle does not support phase [{phase}]")
            if not isinstance(spec, dict) or set(spec) - {"min_age", "actions"}:
                raise EsError(400, "x_content_parse_exception", f"[phase] {phase}: unknown field")
            if "min_age" in spec and not re.fullmatch(r"\d+(d|h|m|s|ms|micros|nanos)", str(spec["min_age"])):
                raise EsError(400, "illegal_argument_exception",
                              f"failed to parse setting [min_age] with value [{spec['min_age']}] as a time value")
            for action in spec.get("actions", {}):
                if action not in _ILM_ACTIONS[phase]:
                    raise EsError(400, "illegal_argument_exception",
                                  f"invalid action [{action}] defined in phase [{phase}]")
        with self.lock:
            previous = self.policies.get(name)
            version = (previous["version"] + 1) if previous else 1
            self.policies[name] = {"version": version, "modified_date": _now_iso(), "policy": policy}
        return 200, {"acknowledged": True}

    def _api_get_policy(self, name: str | None, *, query: Any, body: bytes) -> tuple[int, Any]:
        with self.lock:
            if name is None:
                return 200, dict(self.policies)
            if name not in self.policies:
                raise EsError(404, "resource_not_found_exception", f"Lifecycle policy not found: {name}")
            return 200, {name: self.policies[name]}

    # -- indices -------------------------------------------------------------------
    def _api_cat_indices(self, pattern: str | None, *, query: Any, body: bytes) -> tuple[int, Any]:
        fmt = query.get("format", ["text"])[0]
        with self.lock:
            names = self._resolve(pattern or "*", allow_missing=True)
            rows = [{"health": "yellow", "status": "open", "index": n, "uuid": "fakeuuid" + n[:8],
                     "pri": "1", "rep": "1", "docs.count": str(len(self.indices[n].docs)), "docs.deleted": "0",
                     "store.size": str(len(json.dumps(self.indices[n].docs))),
                     "pri.store.size": str(len(json.dumps(self.indices[n].docs)))} for n in names]
        if "h" in query:
            keep = query["h"][0].split(",")
            rows = [{k: row[k] for k in keep if k in row} for row in rows]
        if fmt == "json":
            return 200, rows
        return 200, "\n".join(" ".join(row.values()) for row in rows) + ("\n" if rows else "")

    def _api_delete_index(self, expression: str, *, query: Any, body: bytes) -> tuple[int, Any]:
        if any(c in expression for c in "*?") or expression == "_all":
            raise EsError(400, "illegal_argument_exception",
                          "Wildcard expressions or all indices are not allowed")
        with self.lock:
            for name in expression.split(","):
                if name not in self.indices:
                    raise EsError(404, "index_not_found_exception", f"no such index [{name}]",
                                  index=name, **{"resource.type": "index_or_alias", "resource.id": name})
            for name in expression.split(","):
                del self.indices[name]
        return 200, {"acknowledged": True}

    def _api_create_index(self, name: str, *, query: Any, body: bytes) -> tuple[int, Any]:
        name = _resolve_date_math(name)
        doc = _parse_body(body) if body.strip() else {}
        for key in doc:
            if key not in ("aliases", "settings", "mappings"):
                raise EsError(400, "parse_exception", f"unknown key [{key}] for create index")
        aliases = doc.get("aliases") or {}
        for spec in aliases.values():
            if not isinstance(spec, dict) or set(spec) - {"is_write_index", "filter", "routing", "is_hidden",
                                                          "index_routing", "search_routing"}:
                raise EsError(400, "x_content_parse_exception", f"[alias] unknown field in {spec!r}")
        with self.lock:
            if name in self.indices:
                raise EsError(400, "resource_already_exists_exception", f"index [{name}] already exists",
                              index=name)
            for alias in aliases:
                if alias in self.indices:
                    raise EsError(400, "invalid_alias_name_exception",
                                  f"Invalid alias name [{alias}]: an index or data stream exists with the same "
                                  "name as the alias")
            _validate_index_name(name)
            if name in self.aliases:
                raise EsError(400, "invalid_index_name_exception",
                              f"Invalid index name [{name}], already exists as alias")
            self._index_for_write(name, "index")
            for alias, spec in aliases.items():
                self.aliases.setdefault(alias, {})[name] = dict(spec)
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def _api_exists(self, name: str, *, query: Any, body: bytes) -> tuple[int, Any]:
        """HEAD /<index or alias>: 200 when it exists, else 404 (no body)."""
        with self.lock:
            found = name in self.indices or name in self.aliases
        return (200, None) if found else (404, None)

    def _api_get_alias(self, name: str, *, query: Any, body: bytes) -> tuple[int, Any]:
        with self.lock:
            if name not in self.aliases:
                raise EsError(404, "aliases_not_found_exception", f"alias [{name}] missing")
            return 200, {index: {"aliases": {name: spec}} for index, spec in self.aliases[name].items()}

    def _api_get_data_stream(self, name: str | None, *, query: Any, body: bytes) -> tuple[int, Any]:
        with self.lock:
            streams = [i for i in self.indices.values() if i.data_stream
                       and (name is None or fnmatch.fnmatchcase(i.name, name))]
        if name is not None and "*" not in name and not streams:
            raise EsError(404, "index_not_found_exception", f"no such index [{name}]")
        return 200, {"data_streams": [{"name": i.name, "timestamp_field": {"name": "@timestamp"},
                                       "indices": [{"index_name": f".ds-{i.name}-000001"}], "generation": 1,
                                       "status": "GREEN", "template": (self.matching_template(i.name) or ("",))[0]}
                                      for i in streams]}

    def _api_put_legacy_template(self, name: str, *, query: Any, body: bytes) -> tuple[int, Any]:
        doc = _parse_body(body)
        for key in doc:
            if key not in ("index_patterns", "order", "settings", "mappings", "aliases", "version"):
                raise EsError(400, "illegal_argument_exception", f"unknown key [{key}] in the template ")
        if not doc.get("index_patterns"):
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: index patterns are missing;")
        _validate_mappings(doc.get("mappings") or {})
        with self.lock:
            self.legacy_templates[name] = doc
        return 200, {"acknowledged": True}

    def _api_get_legacy_template(self, name: str | None, *, query: Any, body: bytes) -> tuple[int, Any]:
        with self.lock:
            found = {n: t for n, t in self.legacy_templates.items() if name is None or fnmatch.fnmatchcase(n, name)}
        if name is not None and not found:
            return 404, {}
        return 200, found

    def _api_template_exists(self, kind: str, name: str, *, query: Any, body: bytes) -> tuple[int, Any]:
        with self.lock:
            store = self.templates if kind == "_index_template" else self.legacy_templates
            return (200, None) if name in store else (404, None)


    def _api_refresh(self, expression: str | None, *, query: Any, body: bytes) -> tuple[int, Any]:
        return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}

    # -- search ------------------------------------------------------------------
    def _resolve(self, expression: str, *, allow_missing: bool = False) -> list[str]:
        names: list[str] = []
        for part in expression.split(","):
            if part in ("_all", "*"):
                names.extend(self.indices)
            elif "*" in part or "?" in part:
                names.extend(n for n in self.indices if fnmatch.fnmatchcase(n, part))
            elif part in self.indices:
                names.append(part)
            elif not allow_missing:
                raise EsError(404, "index_not_found_exception", f"no such index [{part}]", index=part,
                              **{"resource.type": "index_or_alias", "resource.id": part})
        return sorted(dict.fromkeys(names))

    def _search_docs(self, expression: str, query_params: dict[str, list[str]],
                     body: dict[str, Any]) -> list[dict[str, Any]]:
        ignore = query_params.get("ignore_unavailable", ["false"])[0] == "true"
        for key in body:
            if key not in _SEARCH_KEYS:
                raise EsError(400, "parsing_exception", f"Unknown key for a START_OBJECT in [{key}].",
                              line=1, col=len(key) + 3)
        with self.lock:
            names = self._resolve(expression, allow_missing=ignore)
            docs = [{"_index": n, "_id": i, "_source": s} for n in names for i, s in self.indices[n].docs.items()]
        matcher = _compile_query(body.get("query", {"match_all": {}}))
        return [d for d in docs if matcher(d["_source"])]

    def _api_search(self, expression: str | None, *, query: Any, body: bytes) -> tuple[int, Any]:
        request = _parse_body(body) if body else {}
        if "size" in query:
            request.setdefault("size", int(query["size"][0]))
        if "pit" in request:
            return self._pit_search(expression, query, request)
        expression = expression or "_all"
        if self.search_handler is not None:
            return 200, self.search_handler(expression, request)
        started = time.monotonic()
        hits = self._search_docs(expression, query, request)
        aggs = request.get("aggs", request.get("aggregations"))
        size = int(request.get("size", 10))
        start = int(request.get("from", 0))
        ordered = [_filter_source(h, request.get("_source", True)) for h in _sort_hits(hits, request.get("sort"))]
        response: dict[str, Any] = {
            "took": int((time.monotonic() - started) * 1000), "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": len(hits), "relation": "eq"},
                     "max_score": 1.0 if hits and size else None,
                     "hits": [{**h, "_score": 1.0} for h in ordered[start:start + size]]},
        }
        if "scroll" in query:
            scroll_id = uuid.uuid4().hex
            with self.lock:
                self._scrolls[scroll_id] = ordered[start + size:]
            response["_scroll_id"] = scroll_id
            response["hits"]["hits"] = [{**h, "_score": None, "sort": [n]}
                                        for n, h in enumerate(ordered[start:start + size])]
            self._scroll_size = size
        if aggs:
            response["aggregations"] = _aggregate(aggs, [h["_source"] for h in hits])
        return 200, response

    def _api_open_pit(self, expression: str, *, query: Any, body: bytes) -> tuple[int, Any]:
        if "keep_alive" not in query:
            raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: [keep_alive] is missing;")
        with self.lock:
            self._resolve(expression)
            pit_id = uuid.uuid4().hex
            self._pits[pit_id] = expression
        return 200, {"id": pit_id}

    def _api_close_pit(self, *, query: Any, body: bytes) -> tuple[int, Any]:
        pit_id = _parse_body(body).get("id") if body else None
        with self.lock:
            freed = self._pits.pop(str(pit_id), None) is not None
        return (200 if freed else 404), {"succeeded": freed, "num_freed": int(freed)}

    def _pit_search(self, expression: str | None, query: Any, request: dict[str, Any]) -> tuple[int, Any]:
        """search_after over a point in time: hits carry their sort values plus their position (_shard_doc)."""
        if expression:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: [indices] cannot be used with point in time;")
        pit_id = str(request["pit"].get("id"))
        with self.lock:
            target = self._pits.get(pit_id)
        if target is None:
            raise EsError(404, "search_context_missing_exception", f"No search context found for id [{pit_id}]")
        hits = _sort_hits(self._search_docs(target, query, {k: v for k, v in request.items()
                                                            if k not in ("search_after",)}), request.get("sort"))
        specs = [spec if isinstance(spec, str) else next(iter(spec)) for spec in
                 (request.get("sort") if isinstance(request.get("sort"), list) else [request.get("sort")])
                 if spec is not None]
        start = int(request["search_after"][-1]) + 1 if request.get("search_after") else 0
        size = int(request.get("size", 10))
        page = [{**h, "_score": None, "sort": [*(_sort_value(h["_source"], n) for n in specs if n != "_shard_doc"), pos]}
                for pos, h in enumerate(hits) if start <= pos < start + size]
        return 200, {"pit_id": pit_id, "took": 0, "timed_out": False,
                     "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                     "hits": {"total": {"value": len(hits), "relation": "eq"}, "max_score": None, "hits": page}}

    def _api_scroll(self, *, query: Any, body: bytes) -> tuple[int, Any]:
        request = _parse_body(body)
        scroll_id = request.get("scroll_id")
        if not scroll_id or "scroll" not in request:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: scrollId is missing;")
        with self.lock:
            remaining = self._scrolls.get(scroll_id)
            if remaining is None:
                raise EsError(404, "search_context_missing_exception", f"No search context found for id [{scroll_id}]")
            size = getattr(self, "_scroll_size", 10)
            page, self._scrolls[scroll_id] = remaining[:size], remaining[size:]
        return 200, {"_scroll_id": scroll_id, "took": 0, "timed_out": False,
                     "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                     "hits": {"total": {"value": len(page), "relation": "eq"}, "max_score": None,
                              "hits": [{**h, "_score": None} for h in page]}}

    def _api_clear_scroll(self, *, query: Any, body: bytes) -> tuple[int, Any]:
        request = _parse_body(body) if body else {}
        ids = request.get("scroll_id", [])
        ids = [ids] if isinstance(ids, str) else ids
        with self.lock:
            freed = sum(1 for i in ids if self._scrolls.pop(i, None) is not None)
        return 200, {"succeeded": True, "num_freed": freed}

    def _api_count(self, expression: str | None, *, query: Any, body: bytes) -> tuple[int, Any]:
        request = _parse_body(body) if body else {}
        if set(request) - {"query"}:
            raise EsError(400, "parsing_exception", "request does not support [" + sorted(set(request) - {"query"})[0] + "]")
        expression = expression or "_all"
        if self.search_handler is not None:
            result = self.search_handler(expression, {**request, "size": 0, "track_total_hits": True})
            return 200, {"count": result["hits"]["total"]["value"],
                         "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}
        hits = self._search_docs(expression, query, request)
        return 200, {"count": len(hits), "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}


# ---------------------------------------------------------------------------
# routing
# ---------------------------------------------------------------------------
def _route(method: str, seg: list[str]) -> tuple[str, tuple[Any, ...]] | None:
    n = len(seg)
    if n == 0:
        return {"GET": ("info", ()), "HEAD": ("ping", ())}.get(method)
    head = seg[0]
    if head == "_bulk" and n == 1 and method in ("POST", "PUT"):
        return "bulk", (None,)
    if n == 2 and seg[1] == "_bulk" and method in ("POST", "PUT"):
        return "bulk", (head,)
    if head in ("_index_template", "_template") and method == "HEAD" and n == 2:
        return "template_exists", (head, seg[1])
    if head == "_template":
        if method == "PUT" and n == 2:
            return "put_legacy_template", (seg[1],)
        if method == "GET" and n in (1, 2):
            return "get_legacy_template", (seg[1] if n == 2 else None,)
    if head == "_data_stream" and method == "GET" and n in (1, 2):
        return "get_data_stream", (seg[1] if n == 2 else None,)
    if head == "_alias" and method == "GET" and n == 2:
        return "get_alias", (seg[1],)
    if head == "_index_template":
        if method == "PUT" and n == 2:
            return "put_template", (seg[1],)
        if method == "GET" and n in (1, 2):
            return "get_template", (seg[1] if n == 2 else None,)
        if method == "DELETE" and n == 2:
            return "delete_template", (seg[1],)
    if head == "_ilm" and n >= 2 and seg[1] == "policy":
        if method == "PUT" and n == 3:
            return "put_policy", (seg[2],)
        if method == "GET" and n in (2, 3):
            return "get_policy", (seg[2] if n == 3 else None,)
    if head == "_cat" and n >= 2 and seg[1] == "indices" and method == "GET":
        return "cat_indices", (seg[2] if n == 3 else None,)
    if head == "_search" and n == 2 and seg[1] == "scroll":
        if method in ("GET", "POST"):
            return "scroll", ()
        if method == "DELETE":
            return "clear_scroll", ()
    if head == "_search" and n == 1 and method in ("GET", "POST"):
        return "search", (None,)
    if head == "_count" and n == 1 and method in ("GET", "POST"):
        return "count", (None,)
    if head == "_refresh" and n == 1 and method in ("GET", "POST"):
        return "refresh", (None,)
    if head == "_pit" and n == 1 and method == "DELETE":
        return "close_pit", ()
    if n == 2 and seg[1] == "_pit" and method == "POST" and not head.startswith("_"):
        return "open_pit", (head,)
    if n == 2 and not head.startswith("_"):
        if seg[1] == "_search" and method in ("GET", "POST"):
            return "search", (head,)
        if seg[1] == "_count" and method in ("GET", "POST"):
            return "count", (head,)
        if seg[1] == "_refresh" and method in ("GET", "POST"):
            return "refresh", (head,)
    if n == 1 and (not head.startswith("_") or head.startswith("<")):
        if method == "HEAD":
            return "exists", (head,)
        if method == "DELETE":
            return "delete_index", (head,)
        if method == "PUT":
            return "create_index", (head,)
    return None


class _Handler(BaseHTTPRequestHandler):
    es: FakeElasticsearch
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        raw_body = body
        if self.headers.get("Content-Encoding") == "gzip":
            import gzip

            body = gzip.decompress(body)
        headers = {k.lower(): v for k, v in self.headers.items()}
        fault = self.es._next_fault(self.command, self.path)
        extra_headers: dict[str, str] = {}
        if fault and fault[0] == "slow":
            time.sleep(fault[1])
        try:
            if self.es.request_check is not None:
                try:
                    self.es.request_check(self.command, self.path, headers, raw_body)
                except EsError as exc:
                    self.es.check_failures.append(f"{self.command} {self.path}: {exc.reason}")
                    raise
            limit = self.es.max_content_length
            if limit is not None and len(body) > limit:
                self.es.requests.append(RecordedRequest(self.command, self.path, {}, headers, body))
                raise EsError(413, "content_too_long_exception",
                              f"request body is too large: {len(body)} > {limit} (http.max_content_length)")
            if fault and fault[0] == "status":
                status = fault[1]
                raise EsError(status, *_WHOLE_REQUEST_ERRORS.get(status, ("exception", f"injected {status}")))
            status, payload = self.es.handle(self.command, self.path, headers, body)
        except EsError as exc:
            status, payload = exc.status, exc.body()
            extra_headers = exc.extra.get("header", {})
        except Exception as exc:  # noqa: BLE001 - a bug in the fake answers 500 instead of hanging
            status, payload = 500, EsError(500, "fake_es_internal", repr(exc)).body()
        if fault and fault[0] == "drop":
            self._drop()
            return
        if payload is None:
            data = b""
            ctype = JSON
        elif isinstance(payload, str):
            data, ctype = payload.encode(), "text/plain; charset=UTF-8"
        else:
            data, ctype = json.dumps(payload).encode(), JSON
        self.send_response(status)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Type", ctype)
        for key, value in extra_headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _drop(self) -> None:
        # Half an answer, then a reset: the client sees a broken connection, not a status.
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"took\":")
        self.wfile.flush()
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        self.close_connection = True
        self.connection.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve


_WHOLE_REQUEST_ERRORS = {
    429: ("es_rejected_execution_exception", "rejected execution of coordinating operation"),
    503: ("unavailable_shards_exception", "primary shard is not active"),
    502: ("exception", "bad gateway"),
    500: ("exception", "internal error"),
    413: ("content_too_long_exception", "request body is too large"),
}


def _item_fault_error(status: int, index: str, doc_id: str | None) -> EsError:
    if status == 400:
        return EsError(400, "document_parsing_exception",
                       "[1:42] failed to parse field [status] of type [long] in document with id "
                       f"'{doc_id}'. Preview of field's value: 'abc'",
                       caused_by={"type": "illegal_argument_exception",
                                  "reason": "For input string: \"abc\""})
    if status == 404:
        return EsError(404, "index_not_found_exception", f"no such index [{index}]", index=index)
    if status == 409:
        return EsError(409, "version_conflict_engine_exception",
                       f"[{doc_id}]: version conflict, document already exists (current version [1])")
    if status == 429:
        return EsError(429, "es_rejected_execution_exception",
                       "rejected execution of primary operation [coordinating_and_primary_bytes=0]")
    return EsError(status, "exception", f"injected item failure {status}")


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------
def _parse_json_object(line: bytes, line_no: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise EsError(400, "x_content_parse_exception", f"[{line_no}:1] Unexpected character: {exc}") from None
    if not isinstance(value, dict):
        raise EsError(400, "illegal_argument_exception",
                      f"Malformed action/metadata line [{line_no}], expected START_OBJECT or END_OBJECT "
                      f"but found [{type(value).__name__}]")
    return value


def _parse_body(body: bytes) -> dict[str, Any]:
    if not body:
        raise EsError(400, "parse_exception", "request body is required")
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise EsError(400, "x_content_parse_exception", f"[1:1] Unexpected character: {exc}") from None
    if not isinstance(value, dict):
        raise EsError(400, "parse_exception", "request body must be an object")
    return value


_DATE_MATH_NAME = re.compile(r"<(?P<prefix>[^{}<>]*)\{now/d\}(?P<suffix>[^{}<>]*)>")


def _resolve_date_math(name: str) -> str:
    """``<logstash-{now/d}-000001>`` → ``logstash-2026.12.02-000001`` (the only date math we emulate)."""
    if not name.startswith("<"):
        return name
    found = _DATE_MATH_NAME.fullmatch(name)
    if found is None:
        raise EsError(400, "fake_es_unsupported", f"fake_es only resolves <prefix{{now/d}}suffix>, got [{name}]")
    return f"{found['prefix']}{datetime.now(UTC):%Y.%m.%d}{found['suffix']}"


def _validate_index_name(name: str) -> None:
    def bad(why: str) -> EsError:
        return EsError(400, "invalid_index_name_exception", f"Invalid index name [{name}], {why}",
                       index=name, index_uuid="_na_")

    if name != name.lower():
        raise bad("must be lowercase")
    found = sorted(c for c in _INVALID_INDEX_CHARS if c in name)
    if found:
        raise bad(f"must not contain the following characters [{', '.join(found)}]")
    if name.startswith(("_", "-", "+")):
        raise bad("must not start with '_', '-', or '+'")
    if name in (".", "..") or len(name.encode()) > 255:
        raise bad("must not be '.' or '..' or longer than 255 bytes")


_MAPPING_TYPES = {"text", "keyword", "match_only_text", "long", "integer", "short", "byte", "double", "float",
                  "half_float", "scaled_float", "date", "date_nanos", "boolean", "ip", "object", "nested",
                  "flattened", "geo_point", "wildcard", "constant_keyword", "unsigned_long", "alias"}


def _validate_mappings(mappings: dict[str, Any]) -> None:
    for key in mappings:
        if key not in ("properties", "dynamic_templates", "dynamic", "_source", "date_detection",
                       "numeric_detection", "_meta", "runtime", "_routing"):
            raise EsError(400, "mapper_parsing_exception", f"Root mapping definition has unsupported parameters:  [{key}]")
    _validate_properties(mappings.get("properties", {}), "")
    for entry in mappings.get("dynamic_templates", []):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise EsError(400, "mapper_parsing_exception", "a dynamic template must be a single named object")
        spec = next(iter(entry.values()))
        if "mapping" not in spec:
            raise EsError(400, "mapper_parsing_exception", "dynamic template must define [mapping]")
        allowed = {"match_mapping_type", "match", "unmatch", "path_match", "path_unmatch", "mapping",
                   "match_pattern", "unmatch_mapping_type"}
        if set(spec) - allowed:
            raise EsError(400, "mapper_parsing_exception", f"Illegal dynamic template parameter: {sorted(set(spec) - allowed)}")


def _validate_properties(props: dict[str, Any], prefix: str) -> None:
    for name, spec in props.items():
        if not isinstance(spec, dict):
            raise EsError(400, "mapper_parsing_exception", f"Expected map for property [fields] on field [{name}]")
        ftype = spec.get("type", "object")
        if ftype not in _MAPPING_TYPES:
            raise EsError(400, "mapper_parsing_exception",
                          f"No handler for type [{ftype}] declared on field [{prefix}{name}]")
        if "properties" in spec:
            _validate_properties(spec["properties"], f"{prefix}{name}.")
        for sub, sub_spec in spec.get("fields", {}).items():
            _validate_properties({sub: sub_spec}, f"{prefix}{name}.")


def _kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


_NUMBER_TYPES = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
                 "unsigned_long"}


def _kinds_of_properties(props: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Template ``properties`` → the fake's value kinds (number/string/boolean/object) per field path."""
    kinds: dict[str, str] = {}
    for name, spec in props.items():
        path = prefix + name
        if "properties" in spec and "type" not in spec:
            kinds[path] = "object"
            kinds.update(_kinds_of_properties(spec["properties"], path + "."))
        elif spec.get("type") in _NUMBER_TYPES:
            kinds[path] = "number"
        elif spec.get("type") == "boolean":
            kinds[path] = "boolean"
        elif spec.get("type") in ("keyword", "text", "date", "ip", "wildcard", "match_only_text"):
            kinds[path] = "string"
    return kinds


def _check_dynamic_mapping(idx: Index, source: dict[str, Any], prefix: str = "") -> None:
    """Dynamic mapping conflicts as ES reports them: an object where a value was mapped, etc."""
    pending: dict[str, str] = {}

    def walk(doc: dict[str, Any], pre: str) -> None:
        for key, value in doc.items():
            path = pre + key
            values = value if isinstance(value, list) else [value]
            for item in values:
                kind = _kind(item)
                if kind is None:
                    continue
                known = idx.kinds.get(path) or pending.get(path)
                if known is None:
                    pending[path] = kind
                elif known != kind and not (known == "string" and kind in ("number", "boolean")):
                    if known == "object":
                        raise EsError(400, "document_parsing_exception",
                                      f"[1:2] object mapping for [{path}] tried to parse field [{key}] as "
                                      "object, but found a concrete value")
                    if kind == "object":
                        raise EsError(400, "document_parsing_exception",
                                      f"[1:2] failed to parse field [{path}] of type [{known}] in document. "
                                      "Preview of field's value: '{...}'")
                    if known == "number" and kind == "string":
                        try:
                            float(item)
                        except ValueError:
                            raise EsError(400, "document_parsing_exception",
                                          f"[1:2] failed to parse field [{path}] of type [long] in document. "
                                          f"Preview of field's value: '{item}'") from None
                if kind == "object":
                    walk(item, path + ".")

    walk(source, prefix)
    idx.kinds.update(pending)


def _patterns_overlap(first: list[str], second: list[str]) -> bool:
    def probe(pattern: str) -> list[str]:
        return [pattern.replace("*", "x"), pattern.replace("*", "x-x"), pattern.replace("*", "")]

    return any(fnmatch.fnmatchcase(p, b) for a in first for b in second for p in probe(a)) or any(
        fnmatch.fnmatchcase(p, a) for a in first for b in second for p in probe(b))


def _deep_merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ---------------------------------------------------------------------------
# query and aggregation evaluation (a small, strict subset)
# ---------------------------------------------------------------------------
def field_values(source: dict[str, Any], path: str) -> list[Any]:
    """Values of a dotted field in a source, through nested objects or dotted keys; ``x.keyword`` = ``x``."""
    if path.endswith(".keyword"):
        path = path[: -len(".keyword")]
    found: list[Any] = []

    def walk(node: Any, rest: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, rest)
            return
        if not rest:
            if node is not None:
                found.append(node)
            return
        if not isinstance(node, dict):
            return
        if rest in node:
            walk(node[rest], "")
        parts = rest.split(".")
        for i in range(1, len(parts)):
            head = ".".join(parts[:i])
            if head in node:
                walk(node[head], ".".join(parts[i:]))

    walk(source, path)
    return [v for item in found for v in (item if isinstance(item, list) else [item])]


_DATE_MATH = re.compile(r"now(?:([+-])(\d+)([smhdwMy]))?(?:/([smhd]))?$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def to_millis(value: Any) -> float | None:
    """A date as epoch millis: ISO string, ``now-5m``, or a number (already millis)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _DATE_MATH.match(value)
    if match:
        now = time.time() * 1000
        if match.group(1):
            delta = int(match.group(2)) * _UNIT_MS.get(match.group(3), 86_400_000)
            now = now + delta if match.group(1) == "+" else now - delta
        if match.group(4):
            unit = _UNIT_MS[match.group(4)]
            now = now // unit * unit
        return now
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp() * 1000


def _compare_key(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    millis = to_millis(value) if isinstance(value, str) and value[:1].isdigit() and "-" in value else None
    return millis if millis is not None else value


Matcher = Callable[[dict[str, Any]], bool]


def _compile_query(query: dict[str, Any]) -> Matcher:
    if not isinstance(query, dict) or len(query) != 1:
        raise EsError(400, "parsing_exception", "[_na] query malformed, must start with start_object")
    kind, spec = next(iter(query.items()))
    if kind == "match_all":
        return lambda s: True
    if kind == "match_none":
        return lambda s: False
    if kind == "bool":
        allowed = {"must", "filter", "should", "must_not", "minimum_should_match", "boost"}
        if set(spec) - allowed:
            raise EsError(400, "parsing_exception", f"[bool] query does not support [{sorted(set(spec) - allowed)[0]}]")

        def clauses(key: str) -> list[Matcher]:
            value = spec.get(key, [])
            return [_compile_query(c) for c in (value if isinstance(value, list) else [value])]

        must = clauses("must") + clauses("filter")
        should, must_not = clauses("should"), clauses("must_not")
        minimum = int(spec.get("minimum_should_match", 1 if should and not must else 0))
        return lambda s: (all(m(s) for m in must) and not any(m(s) for m in must_not)
                          and sum(1 for m in should if m(s)) >= minimum)
    if kind in ("term", "terms", "match", "match_phrase", "wildcard", "prefix", "range"):
        if not isinstance(spec, dict):
            raise EsError(400, "parsing_exception", f"[{kind}] query malformed")
        fields = [k for k in spec if k not in ("boost", "_name")]
        if len(fields) != 1:
            raise EsError(400, "parsing_exception", f"[{kind}] query doesn't support multiple fields")
        name = fields[0]
        arg = spec[name]
        if kind == "terms":
            wanted = set(map(_hashable, arg))
            return lambda s: any(_hashable(v) in wanted for v in field_values(s, name))
        if kind == "range":
            return _range_matcher(name, arg)
        value = arg.get("value", arg.get("query")) if isinstance(arg, dict) else arg
        if kind == "term":
            return lambda s: any(v == value or str(v) == str(value) for v in field_values(s, name))
        if kind in ("match", "match_phrase"):
            needle = str(value).lower()
            whole = kind == "match_phrase"
            return lambda s: any((needle in str(v).lower()) if whole else
                                 bool(set(needle.split()) & set(str(v).lower().split()))
                                 for v in field_values(s, name))
        if kind == "prefix":
            return lambda s: any(str(v).startswith(str(value)) for v in field_values(s, name))
        return lambda s: any(fnmatch.fnmatchcase(str(v), str(value)) for v in field_values(s, name))
    if kind == "exists":
        name = spec.get("field")
        return lambda s: bool(field_values(s, name))
    if kind == "ids":
        raise EsError(400, "fake_es_unsupported", "fake_es: ids query needs a search_handler")
    if kind == "query_string":
        text = str(spec.get("query", "")).strip()
        if text in ("*", ""):
            return lambda s: True
        match = re.fullmatch(r"([\w.@]+):(\"[^\"]*\"|\S+)", text)
        if match:
            name, value = match.group(1), match.group(2).strip('"')
            return lambda s: any(fnmatch.fnmatchcase(str(v), value) for v in field_values(s, name))
        raise EsError(400, "fake_es_unsupported",
                      f"fake_es: query_string {text!r} is beyond the fake; supply a search_handler")
    raise EsError(400, "parsing_exception", f"unknown query [{kind}]", line=1, col=len(kind) + 3)


def _hashable(value: Any) -> Any:
    return str(value) if not isinstance(value, (str, int, float, bool)) else str(value)


def _range_matcher(name: str, arg: dict[str, Any]) -> Matcher:
    allowed = {"gte", "gt", "lte", "lt", "format", "time_zone", "boost", "relation"}
    if not isinstance(arg, dict) or set(arg) - allowed:
        raise EsError(400, "parsing_exception", f"[range] query does not support [{sorted(set(arg) - allowed)}]")
    bounds = {op: arg[op] for op in ("gte", "gt", "lte", "lt") if arg.get(op) is not None}
    date_like = any(isinstance(v, str) and not _is_number(v) for v in bounds.values())

    def norm(value: Any) -> float | None:
        if date_like or (isinstance(value, str) and not _is_number(value)):
            return to_millis(value)
        try:
            return float(value)
        except (TypeError, ValueError):
            return None

    limits = {op: norm(v) for op, v in bounds.items()}

    def match(source: dict[str, Any]) -> bool:
        for value in field_values(source, name):
            x = norm(value)
            if x is None:
                continue
            if (("gte" not in limits or x >= limits["gte"]) and ("gt" not in limits or x > limits["gt"])
                    and ("lte" not in limits or x <= limits["lte"]) and ("lt" not in limits or x < limits["lt"])):
                return True
        return False

    return match


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _sort_hits(hits: list[dict[str, Any]], sort: Any) -> list[dict[str, Any]]:
    if not sort:
        return hits
    specs = sort if isinstance(sort, list) else [sort]
    result = list(hits)
    for spec in reversed(specs):
        if isinstance(spec, str):
            name, order = spec, "asc"
        else:
            name, opts = next(iter(spec.items()))
            order = opts.get("order", "asc") if isinstance(opts, dict) else str(opts)
        if name in ("_doc", "_shard_doc", "_score"):
            continue
        result.sort(key=lambda h, n=name: (_sort_value(h["_source"], n) is None, _sort_value(h["_source"], n)),
                    reverse=order == "desc")
    return result


def _filter_source(hit: dict[str, Any], spec: Any) -> dict[str, Any]:
    """Apply ``_source``: true/false, a field list, or {"includes": [...]} (dotted top-level paths)."""
    if spec is True:
        return hit
    if spec is False:
        return {k: v for k, v in hit.items() if k != "_source"}
    includes = spec if isinstance(spec, list) else [spec] if isinstance(spec, str) else spec.get("includes")
    if not isinstance(includes, list) or (isinstance(spec, dict) and set(spec) - {"includes"}):
        raise EsError(400, "fake_es_unsupported", f"fake_es: _source {spec!r} is not emulated")
    kept: dict[str, Any] = {}
    for pattern in includes:
        for key, value in hit["_source"].items():
            if fnmatch.fnmatchcase(key, pattern) or fnmatch.fnmatchcase(key, pattern.split(".")[0]):
                kept[key] = value
    return {**hit, "_source": kept}


def _sort_value(source: dict[str, Any], name: str) -> Any:
    values = field_values(source, name)
    return _compare_key(values[0]) if values else None


_AGG_KINDS = {"terms", "date_histogram", "cardinality", "min", "max", "avg", "sum", "value_count", "filter",
              "percentiles"}


def _aggregate(aggs: dict[str, Any], docs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in aggs.items():
        kinds = [k for k in spec if k not in ("aggs", "aggregations", "meta")]
        if len(kinds) != 1 or kinds[0] not in _AGG_KINDS:
            raise EsError(400, "parsing_exception", f"Unknown aggregation type [{kinds[0] if kinds else ''}] "
                          f"did you mean one of {sorted(_AGG_KINDS)}?")
        kind = kinds[0]
        args = spec[kind]
        sub = spec.get("aggs", spec.get("aggregations"))
        out[name] = _one_agg(kind, args, docs, sub)
    return out


_AGG_ARGS = {
    "terms": {"field", "size", "order", "min_doc_count", "shard_size"},
    "date_histogram": {"field", "fixed_interval", "calendar_interval", "interval", "min_doc_count", "format",
                       "time_zone", "extended_bounds"},
    "cardinality": {"field", "precision_threshold"},
    "min": {"field", "format"}, "max": {"field", "format"}, "avg": {"field", "format"},
    "sum": {"field", "format"}, "value_count": {"field"}, "percentiles": {"field", "percents", "keyed"},
}


def _percentile(ordered: list[float], pct: float) -> float:
    rank = min(max(len(ordered) * pct / 100 - 0.5, 0.0), len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def _check_agg_args(kind: str, args: dict[str, Any]) -> None:
    unknown = set(args) - _AGG_ARGS.get(kind, set(args))
    if unknown:
        raise EsError(400, "fake_es_unsupported",
                      f"fake_es: [{kind}] parameters {sorted(unknown)} are not emulated; supply a search_handler")
    zone = args.get("time_zone")
    if zone not in (None, "UTC", "Z", "+00:00"):
        raise EsError(400, "fake_es_unsupported", f"fake_es: date_histogram time_zone {zone!r} is not emulated")


def _terms_order(order: Any) -> tuple[str, bool]:
    """(``_count`` or ``_key``, descending?) from a terms ``order``; other orders are refused."""
    if order is None:
        return "_count", True
    spec = order[0] if isinstance(order, list) and len(order) == 1 else order
    if not isinstance(spec, dict) or len(spec) != 1:
        raise EsError(400, "fake_es_unsupported", f"fake_es: terms order {order!r} is not emulated")
    key, direction = next(iter(spec.items()))
    if key not in ("_count", "_key") or direction not in ("asc", "desc"):
        raise EsError(400, "fake_es_unsupported", f"fake_es: terms order {order!r} is not emulated")
    return key, direction == "desc"


def _one_agg(kind: str, args: dict[str, Any], docs: list[dict[str, Any]], sub: Any) -> dict[str, Any]:
    _check_agg_args(kind, args)
    if kind == "filter":
        matched = [d for d in docs if _compile_query(args)(d)]
        return {"doc_count": len(matched), **(_aggregate(sub, matched) if sub else {})}
    name = args.get("field")
    if not name:
        raise EsError(400, "illegal_argument_exception", f"Required [field] for [{kind}] aggregation")
    if kind == "terms":
        groups: dict[Any, list[dict[str, Any]]] = {}
        for doc in docs:
            for value in set(map(_hashable_key, field_values(doc, name))):
                groups.setdefault(value, []).append(doc)
        size = int(args.get("size", 10))
        by, descending = _terms_order(args.get("order"))
        if by == "_count":
            ordered = sorted(groups.items(), key=lambda kv: ((-1 if descending else 1) * len(kv[1]), str(kv[0])))
        else:
            ordered = sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0]), reverse=descending)
        buckets = [{"key": k, "doc_count": len(v), **(_aggregate(sub, v) if sub else {})}
                   for k, v in ordered[:size] if len(v) >= int(args.get("min_doc_count", 1))]
        other = sum(len(v) for _, v in ordered[size:])
        return {"doc_count_error_upper_bound": 0, "sum_other_doc_count": other, "buckets": buckets}
    if kind == "date_histogram":
        interval = args.get("fixed_interval") or args.get("calendar_interval") or args.get("interval")
        match = re.fullmatch(r"(\d*)([smhdw])|(minute|hour|day|week)", str(interval or ""))
        if not match:
            raise EsError(400, "fake_es_unsupported", f"fake_es: interval {interval!r} not supported")
        if match.group(3):
            step = _UNIT_MS[match.group(3)[0]]
        else:
            step = int(match.group(1) or 1) * _UNIT_MS[match.group(2)]
        buckets_by_key: dict[int, list[dict[str, Any]]] = {}
        for doc in docs:
            for value in field_values(doc, name):
                millis = to_millis(value)
                if millis is not None:
                    buckets_by_key.setdefault(int(millis // step * step), []).append(doc)
        keys = sorted(buckets_by_key)
        if keys and int(args.get("min_doc_count", 0)) == 0:
            keys = list(range(keys[0], keys[-1] + step, step))
        return {"buckets": [
            {"key_as_string": datetime.fromtimestamp(k / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
             "key": k, "doc_count": len(buckets_by_key.get(k, [])),
             **(_aggregate(sub, buckets_by_key.get(k, [])) if sub else {})}
            for k in keys if len(buckets_by_key.get(k, [])) >= int(args.get("min_doc_count", 0))]}
    values = [v for d in docs for v in field_values(d, name)]
    if kind == "cardinality":
        return {"value": len(set(map(_hashable_key, values)))}
    if kind == "value_count":
        return {"value": len(values)}
    numbers = [n for n in (_numeric(v) for v in values) if n is not None]
    if kind == "sum":
        return {"value": float(sum(numbers))}
    if kind == "percentiles":  # ES's t-digest over few values: each value a centroid centred at rank + 0.5
        ordered = sorted(numbers)
        return {"values": {str(float(p)): _percentile(ordered, float(p)) if ordered else None
                           for p in args.get("percents", [1, 5, 25, 50, 75, 95, 99])}}
    if not numbers:
        return {"value": None}
    result = {"min": min, "max": max, "avg": lambda xs: sum(xs) / len(xs)}[kind](numbers)
    out: dict[str, Any] = {"value": float(result)}
    if kind in ("min", "max") and any(isinstance(v, str) for v in values):
        out["value_as_string"] = datetime.fromtimestamp(result / 1000, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return out


def _hashable_key(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) else json.dumps(value, sort_keys=True)


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        if _is_number(value):
            return float(value)
        return to_millis(value)
    return None


def iter_ndjson(body: bytes) -> Iterator[dict[str, Any]]:
    """Parse a recorded bulk body line by line (for assertions on what was sent)."""
    for line in body.split(b"\n"):
        if line.strip():
            yield json.loads(line)
