"""The monitoring API, shaped like Logstash's (``GET /``, ``/_node/stats``, ``/_node/stats/pipelines``).

Served on ``api.http.host``:``api.http.port`` (default 127.0.0.1:9600, the first free port up to 9700 as
Logstash does) from a daemon thread, so Metricbeat or curl can read event counts per pipeline and plugin.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pipeline import __version__, serde
from pipeline.runtime import registry

log = logging.getLogger("pipeline.api")
_STARTED = time.time()


def node_info() -> dict[str, Any]:
    return {"host": socket.gethostname(), "version": __version__, "http_address": "",
            "status": "green", "pipeline": {"count": len(registry.running())}}


def node_stats() -> dict[str, Any]:
    pipelines = {pid: _pipeline_stats(m.snapshot()) for pid, m in registry.running().items()}
    total = {"in": 0, "filtered": 0, "out": 0}
    for stats in pipelines.values():
        for key in total:
            total[key] += stats["events"][key]
    return {**node_info(), "jvm": {"uptime_in_millis": round((time.time() - _STARTED) * 1000)},
            "events": total, "pipelines": pipelines}


def _pipeline_stats(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {"events": snapshot["events"], "plugins": snapshot["plugins"],
            "condition_type_errors": snapshot["condition_type_errors"],
            "output_rejected": snapshot["output_rejected"], "uptime_in_millis": snapshot["uptime_in_millis"]}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/":
            body: Any = node_info()
        elif path in ("/_node/stats", "/_node/stats/events"):
            body = node_stats()
        elif path == "/_node/stats/pipelines":
            body = {"pipelines": node_stats()["pipelines"]}
        elif path.startswith("/_node/stats/pipelines/"):
            pipeline_id = path.rsplit("/", 1)[1]
            stats = node_stats()["pipelines"].get(pipeline_id)
            if stats is None:
                self._send(404, {"error": f"pipeline {pipeline_id} is not running"})
                return
            body = {"pipelines": {pipeline_id: stats}}
        else:
            self._send(404, {"error": f"no such endpoint {path}"})
            return
        self._send(200, body)

    def _send(self, status: int, body: Any) -> None:
        data = serde.dumps(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


def start(host: str = "127.0.0.1", port: int = 9600, port_max: int = 9700) -> ThreadingHTTPServer | None:
    """Serve the API on the first free port in [port, port_max]; None (logged) if none is free."""
    for candidate in range(port, max(port, port_max) + 1):
        try:
            server = ThreadingHTTPServer((host, candidate), _Handler)
        except OSError:
            continue
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="monitoring-api", daemon=True).start()
        log.info("monitoring API listening on http://%s:%d", host, candidate)
        return server
    log.warning("monitoring API not started: no free port in %d-%d on %s", port, port_max, host)
    return None
