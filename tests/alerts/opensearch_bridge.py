"""A header bridge so that the official Elasticsearch client talks to a real OpenSearch node in tests.

elasticsearch-py 8 sends ``application/vnd.elasticsearch+json; compatible-with=8`` (OpenSearch answers
406) and refuses answers without ``X-Elastic-Product: Elasticsearch``. The bridge rewrites those two
headers and nothing else: queries, aggregations and their results are the node's own.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KEYWORD_TEMPLATE = {
    "index_patterns": ["logs-*"],
    "template": {"mappings": {"dynamic_templates": [
        {"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}]}},
}


class OpenSearchBridge:
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> OpenSearchBridge:
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                kind = "application/x-ndjson" if "ndjson" in (self.headers.get("Content-Type") or "") \
                    else "application/json"
                request = urllib.request.Request(bridge.target + self.path, data=body, method=self.command,
                                                 headers={"Content-Type": kind, "Accept": "application/json"})
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        status, payload = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    status, payload = exc.code, exc.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"


def call(url: str, method: str, path: str, body: Any = None, ndjson: str | None = None) -> Any:
    data = ndjson.encode() if ndjson is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url + path, data=data, method=method, headers={
        "Content-Type": "application/x-ndjson" if ndjson is not None else "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")
