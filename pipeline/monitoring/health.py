"""Health like Logstash's ``GET /_health_report``: green/yellow/red per pipeline, with the reason.

Probes, each giving a status, a symptom and a diagnosis:

* lifecycle: loading → yellow, finished → yellow, terminated → red (Logstash's pipeline status probe);
* an input that cannot listen on its port → red;
* a listening input (beats, tcp, http) that stopped accepting connections at the process's file
  descriptor limit or at its ``max_connections`` → yellow (clients wait; nothing is lost yet);
* an output holding a batch it cannot deliver: yellow after ``OUTPUT_YELLOW_AFTER`` seconds, red after
  ``OUTPUT_RED_AFTER``;
* the queue more than ``QUEUE_YELLOW_RATIO`` full → yellow;
* a worker on one batch for ``WORKER_STUCK_AFTER`` seconds while no output is retrying → red (a filter
  is stuck).

The worst probe wins, per pipeline and for the node (also shown on ``GET /``).
"""

from __future__ import annotations

from typing import Any

from pipeline.runtime import registry

OUTPUT_YELLOW_AFTER = 5.0
OUTPUT_RED_AFTER = 60.0
QUEUE_YELLOW_RATIO = 0.8
WORKER_STUCK_AFTER = 60.0
_RANK = {"green": 0, "unknown": 1, "yellow": 2, "red": 3}
HELP_URL = "https://www.elastic.co/guide/en/logstash/current/health-report-pipeline-status.html"


def worst(statuses: list[str]) -> str:
    return max(statuses, key=_RANK.__getitem__, default="green")


def queue_fill(runner: Any) -> float:
    """Fraction of the queue in use (events, or bytes for a persisted queue bounded by bytes)."""
    queue = runner.queue
    ratios = []
    if getattr(queue, "capacity", 0):
        ratios.append(len(queue) / queue.capacity)
    max_bytes = getattr(queue, "max_bytes", 0)
    if max_bytes:
        ratios.append(getattr(queue, "bytes_used", 0) / max_bytes)
    return max(ratios, default=0.0)


def _probe(status: str, symptom: str, cause: str, action: str, impact: str) -> dict[str, Any]:
    return {"status": status, "symptom": symptom,
            "diagnosis": [{"cause": cause, "action": action, "help_url": HELP_URL}],
            "impacts": [{"severity": 1 if status == "red" else 2, "description": impact,
                         "impact_areas": ["pipeline_execution"]}]}


def probes(runner: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    lifecycle = runner.state.lifecycle
    if lifecycle == "loading":
        found.append(_probe("yellow", "The pipeline is loading", "the pipeline is starting",
                            "wait; check the logs if it takes long", "not processing events yet"))
    elif lifecycle == "finished":
        found.append(_probe("yellow", "The pipeline has finished", "all its inputs are done",
                            "restart or reload it to process more", "not processing events"))
    elif lifecycle == "terminated":
        found.append(_probe("red", "The pipeline has terminated", "it stopped on an error",
                            "read the logs and fix the cause", "not processing events"))
    for input_id, state in list(runner.state.inputs.items()):
        if state.error:
            found.append(_probe("red", state.error, f"input {input_id} cannot start (retried with backoff)",
                                "free the port or change the input's address", "events for it are refused"))
    found.extend(_accepting_probes(runner))
    retrying = False
    for output_id, state in list(runner.state.outputs.items()):
        snap = state.snapshot()
        stuck = max(snap["busy_for_seconds"] or 0, snap["failing_for_seconds"] or 0)
        if stuck >= OUTPUT_YELLOW_AFTER:
            retrying = True
            level = "red" if stuck >= OUTPUT_RED_AFTER else "yellow"
            found.append(_probe(level, f"output {output_id} has not delivered a batch for {stuck:.0f}s "
                                       f"({snap['backlog']} events waiting in it)",
                                f"output {output_id} is failing or blocked (its destination may be down)",
                                "check the destination; events stay queued meanwhile", "events are held back"))
    fill = queue_fill(runner)
    if fill > QUEUE_YELLOW_RATIO:
        found.append(_probe("yellow", f"the queue is {fill:.0%} full",
                            "outputs are slower than inputs", "add workers or fix the slow output",
                            "inputs will soon be blocked (backpressure)"))
    oldest = runner.state.oldest_batch_seconds()
    if oldest >= WORKER_STUCK_AFTER and not retrying:
        found.append(_probe("red", f"a worker has been on one batch for {oldest:.0f}s",
                            "a filter or output is stuck", "read GET /_node/hot_threads to see where",
                            "events are not processed"))
    return found


def _accepting_probes(runner: Any) -> list[dict[str, Any]]:
    found = []
    for inp in getattr(runner.built, "inputs", []):
        reader = getattr(getattr(inp, "stats", None), "snapshot", None)
        accepting = reader().get("accepting") if callable(reader) else None
        if not isinstance(accepting, dict):
            continue
        if accepting.get("at_fd_limit"):
            found.append(_probe("yellow", f"input {inp.id} cannot accept connections: no file descriptor is free",
                                "the process reached its open files limit",
                                "raise LimitNOFILE= in the systemd unit (or ulimit -n)",
                                "new clients wait in the kernel's queue"))
        if accepting.get("at_connection_limit"):
            found.append(_probe("yellow", f"input {inp.id} has max_connections connections open",
                                "more clients than max_connections", "raise the input's max_connections",
                                "new clients wait in the kernel's queue"))
    return found


def pipeline_health(runner: Any) -> dict[str, Any]:
    found = probes(runner)
    status = worst([p["status"] for p in found])
    report: dict[str, Any] = {
        "status": status,
        "symptom": "; ".join(p["symptom"] for p in found if p["status"] != "green") or "The pipeline is healthy",
        "details": {"status": {"state": runner.state.lifecycle.upper()}},
    }
    if found:
        report["diagnosis"] = [d for p in found for d in p["diagnosis"]]
        report["impacts"] = [i for p in found for i in p["impacts"]]
    return report


def report() -> dict[str, Any]:
    """The ``pipelines`` indicator with one sub-indicator per pipeline, and the overall status."""
    per_pipeline = {pid: pipeline_health(runner) for pid, runner in registry.runners().items()}
    status = worst([p["status"] for p in per_pipeline.values()])
    unhealthy = [pid for pid, p in per_pipeline.items() if p["status"] != "green"]
    symptom = (f"{len(unhealthy)} pipeline(s) not healthy: {', '.join(unhealthy)}" if unhealthy
               else f"{len(per_pipeline)} pipeline(s) healthy")
    return {"status": status, "symptom": symptom,
            "indicators": {"pipelines": {"status": status, "symptom": symptom, "indicators": per_pipeline}}}
