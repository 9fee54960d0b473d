"""The monitoring API, shaped like Logstash's (``GET /``, ``/_node/stats``, ``/_node/stats/pipelines``,
``/_node/pipelines``, ``/_node/hot_threads``, ``/_health_report``), plus Prometheus' ``/metrics``.

Served on ``api.http.host``:``api.http.port`` (default 127.0.0.1:9600, the first free port up to 9700 as
Logstash does) from a daemon thread, so Metricbeat or curl can read event counts per pipeline and plugin.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pipeline import __version__, serde
from pipeline.runtime import registry

log = logging.getLogger("pipeline.api")
_STARTED = time.time()


def node_info() -> dict[str, Any]:
    from pipeline.monitoring import health

    return {"host": socket.gethostname(), "version": __version__, "http_address": "",
            "status": health.report()["status"], "pipeline": {"count": len(registry.running())}}


def node_stats() -> dict[str, Any]:
    runners = registry.runners()
    pipelines = {pid: _pipeline_stats(m.snapshot(), runners.get(pid)) for pid, m in registry.running().items()}
    total = {"in": 0, "filtered": 0, "out": 0}
    for stats in pipelines.values():
        for key in total:
            total[key] += stats["events"][key]
    return {**node_info(), "jvm": {"uptime_in_millis": round((time.time() - _STARTED) * 1000)},
            "events": total, "pipelines": pipelines}


def _pipeline_stats(snapshot: dict[str, Any], runner: Any = None) -> dict[str, Any]:
    stats = {"events": snapshot["events"], "plugins": snapshot["plugins"],
             "condition_type_errors": snapshot["condition_type_errors"],
             "output_rejected": snapshot["output_rejected"], "uptime_in_millis": snapshot["uptime_in_millis"]}
    if runner is not None:
        stats.update(_runtime_stats(runner))
    return stats


def _runtime_stats(runner: Any) -> dict[str, Any]:
    """Logstash's ``queue`` and ``reloads`` sections, plus what the workers and outputs hold now."""
    queue = runner.queue
    stats_of = getattr(queue, "stats", None)
    if callable(stats_of):
        queue_section = stats_of()
    else:
        queue_section = {"type": runner.settings.queue_type, "events_count": len(queue),
                         "queue_size_in_bytes": 0, "max_queue_size_in_bytes": 0, "capacity": {
                             "max_unread_events": queue.capacity}}
    events, batches = runner.state.held()
    queue_section["inflight"] = {"events": events, "batches": batches}
    outputs = {oid: state.snapshot() for oid, state in list(runner.state.outputs.items())}
    inputs = {iid: state.snapshot() for iid, state in list(runner.state.inputs.items()) if state.attempts}
    return {"queue": queue_section, "reloads": runner.state.reloads.snapshot(), "outputs": outputs,
            "inputs": inputs, "state": runner.state.lifecycle}


def node_pipelines() -> dict[str, Any]:
    """``/_node/pipelines``: each pipeline's settings, as Logstash's node info shows them."""
    pipelines = {}
    for pid, runner in registry.runners().items():
        s = runner.settings
        pipelines[pid] = {"workers": s.workers, "batch_size": s.batch_size,
                          "batch_delay": round(s.batch_delay * 1000), "worker_type": s.worker_type,
                          "queue_type": s.queue_type,
                          "ephemeral_id": str(id(runner)), "sources": list(runner.built.sources),
                          "inputs": [{"id": p.id, "name": p.name} for p in runner.built.inputs],
                          "filters": [{"id": p.id, "name": p.name} for p in runner.built.filters],
                          "outputs": [{"id": p.id, "name": p.name} for p in runner.built.outputs]}
    return {**node_info(), "pipelines": pipelines}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/metrics":
            from pipeline.monitoring import prometheus

            self._send_raw(200, prometheus.exposition(), prometheus.CONTENT_TYPE)
            return
        if path == "/_node/hot_threads":
            from pipeline.monitoring import hot_threads

            try:
                query = hot_threads.HotThreadsQuery.parse(
                    urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True))
            except hot_threads.HotThreadsParameterError as exc:
                self._send(400, {"error": str(exc)})
                return
            report = hot_threads.hot_threads(query, uptime_seconds=time.time() - _STARTED)
            if query.human:
                text = hot_threads.as_text(report, str(node_info().get("host", "")))
                self._send_raw(200, text.encode(), "text/plain; charset=utf-8")
                return
            self._send(200, {**node_info(), **report})
            return
        if path == "/":
            body: Any = node_info()
        elif path == "/_health_report":
            from pipeline.monitoring import health

            body = {**node_info(), **health.report()}
        elif path == "/_node/pipelines":
            body = node_pipelines()
        elif path.startswith("/_node/pipelines/"):
            pipeline_id = path.rsplit("/", 1)[1]
            info = node_pipelines()["pipelines"].get(pipeline_id)
            if info is None:
                self._send(404, {"error": f"pipeline {pipeline_id} is not running"})
                return
            body = {"pipelines": {pipeline_id: info}}
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
        self._send_raw(status, serde.dumps(body), "application/json")

    def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
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
