"""``GET /metrics``: the pipeline's counters in Prometheus' text format, read at scrape time.

Every family is declared once in :data:`METRICS` (name, type, help, labels); the collector, the
docs table (docs/monitoring.md) and the Grafana dashboard (scripts/grafana_dashboard.py) all come
from that list. Names follow Prometheus conventions: a ``pipeline_`` prefix, ``_total`` on counters,
base units (seconds, bytes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pipeline import __version__
from pipeline.runtime import registry

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PIPELINE = ("pipeline",)
PLUGIN = ("pipeline", "plugin_type", "plugin", "plugin_id")
OUTPUT = ("pipeline", "plugin_id")


@dataclass(frozen=True)
class MetricSpec:
    name: str  # without the _total suffix for counters (prometheus_client adds it)
    kind: str  # "counter" or "gauge"
    help: str
    labels: tuple[str, ...] = ()

    @property
    def exposed(self) -> str:
        return self.name + "_total" if self.kind == "counter" else self.name


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("pipeline_info", "gauge", "Always 1; the version of the pipeline program.", ("version",)),
    MetricSpec("pipeline_events_in", "counter", "Events taken from the queue by the workers.", PIPELINE),
    MetricSpec("pipeline_events_filtered", "counter", "Events that went through the filters.", PIPELINE),
    MetricSpec("pipeline_events_out", "counter", "Events handed to the outputs.", PIPELINE),
    MetricSpec("pipeline_output_rejected", "counter", "Events an output rejected for good after retries.",
               PIPELINE),
    MetricSpec("pipeline_plugin_events_in", "counter", "Events into a plugin.", PLUGIN),
    MetricSpec("pipeline_plugin_events_out", "counter", "Events out of a plugin (for inputs: events read).",
               PLUGIN),
    MetricSpec("pipeline_plugin_failures", "counter", "Events a plugin failed on.", PLUGIN),
    MetricSpec("pipeline_plugin_duration_seconds", "counter", "Time spent in a plugin.", PLUGIN),
    MetricSpec("pipeline_queue_events", "gauge", "Events in the queue, not yet taken by a worker.",
               ("pipeline", "type")),
    MetricSpec("pipeline_queue_size_bytes", "gauge", "Bytes used by the persisted queue on disk.", PIPELINE),
    MetricSpec("pipeline_queue_max_size_bytes", "gauge", "queue.max_bytes of the persisted queue.", PIPELINE),
    MetricSpec("pipeline_queue_capacity_events", "gauge", "Most events the queue holds (0: bounded by bytes).",
               PIPELINE),
    MetricSpec("pipeline_workers_inflight_events", "gauge", "Events in batches the workers are processing.",
               PIPELINE),
    MetricSpec("pipeline_dlq_events", "counter", "Events written to the dead letter queue.", PIPELINE),
    MetricSpec("pipeline_dlq_dropped_events", "counter", "Events the full dead letter queue dropped.", PIPELINE),
    MetricSpec("pipeline_dlq_size_bytes", "gauge", "Bytes of the dead letter queue on disk.", PIPELINE),
    MetricSpec("pipeline_output_retries", "counter", "Failed attempts of an output on a batch (retried).",
               OUTPUT),
    MetricSpec("pipeline_output_failures", "counter", "Batches an output gave up on after retries.", OUTPUT),
    MetricSpec("pipeline_output_backlog_events", "gauge", "Events inside an output, not yet delivered.", OUTPUT),
    MetricSpec("pipeline_output_last_success_timestamp_seconds", "gauge",
               "Unix time of the output's last delivered batch.", OUTPUT),
    MetricSpec("pipeline_output_stalled_seconds", "gauge",
               "How long the output has been on an undelivered batch (0: not stalled).", OUTPUT),
    MetricSpec("pipeline_beats_connections", "gauge", "Open beats client connections.", OUTPUT),
    MetricSpec("pipeline_beats_connections_accepted", "counter", "Beats connections accepted.", OUTPUT),
    MetricSpec("pipeline_beats_windows", "counter", "Beats windows received.", OUTPUT),
    MetricSpec("pipeline_beats_acks", "counter", "Beats windows acknowledged.", OUTPUT),
    MetricSpec("pipeline_grok_matches", "counter", "Events a grok filter matched.", OUTPUT),
    MetricSpec("pipeline_grok_failures", "counter", "Events no pattern of a grok filter matched.", OUTPUT),
    MetricSpec("pipeline_grok_timeouts", "counter", "Events a grok filter gave up on (timeout_millis).", OUTPUT),
    MetricSpec("pipeline_reload_successes", "counter", "Successful reloads of the pipeline.", PIPELINE),
    MetricSpec("pipeline_reload_failures", "counter", "Failed reloads (the old pipeline kept running).",
               PIPELINE),
    MetricSpec("pipeline_reload_last_success_timestamp_seconds", "gauge", "Unix time of the last reload.",
               PIPELINE),
    MetricSpec("pipeline_health_status", "gauge", "Health of the pipeline: 0 green, 2 yellow, 3 red.", PIPELINE),
    MetricSpec("pipeline_uptime_seconds", "gauge", "Seconds since the pipeline started.", PIPELINE),
)
SPECS = {spec.name: spec for spec in METRICS}
PROCESS_METRICS = ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                   "process_max_fds", "process_start_time_seconds", "python_info")


class _Families:
    def __init__(self) -> None:
        self.families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}

    def add(self, name: str, labels: tuple[str, ...], value: float | None) -> None:
        if value is None:
            return
        spec = SPECS[name]
        family = self.families.get(name)
        if family is None:
            if spec.kind == "counter":
                family = CounterMetricFamily(name, spec.help, labels=list(spec.labels))
            else:
                family = GaugeMetricFamily(name, spec.help, labels=list(spec.labels))
            self.families[name] = family
        family.add_metric(list(labels), float(value))


class PipelineCollector(Collector):
    """Reads the running pipelines at every scrape (no copies kept in sync)."""

    def collect(self) -> Iterator[Metric]:
        out = _Families()
        out.add("pipeline_info", (__version__,), 1)
        runners = registry.runners()
        for pipeline_id, metrics in registry.running().items():
            snap = metrics.snapshot()
            labels = (pipeline_id,)
            out.add("pipeline_events_in", labels, snap["events"]["in"])
            out.add("pipeline_events_filtered", labels, snap["events"]["filtered"])
            out.add("pipeline_events_out", labels, snap["events"]["out"])
            out.add("pipeline_output_rejected", labels, snap["output_rejected"])
            out.add("pipeline_uptime_seconds", labels, snap["uptime_in_millis"] / 1000)
            for kind, plugins in snap["plugins"].items():
                for plugin in plugins:
                    _plugin(out, pipeline_id, kind.rstrip("s"), plugin)
            runner = runners.get(pipeline_id)
            if runner is not None:
                _runner(out, pipeline_id, runner)
                _dead_letters(out, pipeline_id)
        yield from out.families.values()


def _plugin(out: _Families, pipeline_id: str, kind: str, plugin: dict[str, Any]) -> None:
    labels = (pipeline_id, kind, plugin["name"], plugin["id"])
    out.add("pipeline_plugin_events_in", labels, plugin["events"]["in"])
    out.add("pipeline_plugin_events_out", labels, plugin["events"]["out"])
    out.add("pipeline_plugin_failures", labels, plugin["failures"])
    out.add("pipeline_plugin_duration_seconds", labels, plugin["events"]["duration_in_millis"] / 1000)
    stats = plugin.get("stats") or {}
    short = (pipeline_id, plugin["id"])
    if plugin["name"] == "beats" and "connections" in stats:
        out.add("pipeline_beats_connections", short, stats["connections"].get("current"))
        out.add("pipeline_beats_connections_accepted", short, stats["connections"].get("accepted"))
        out.add("pipeline_beats_windows", short, stats.get("windows"))
        out.add("pipeline_beats_acks", short, stats.get("acks"))
    if plugin["name"] == "grok" and "matches" in stats:
        out.add("pipeline_grok_matches", short, stats.get("matches"))
        out.add("pipeline_grok_failures", short, stats.get("failures"))
        out.add("pipeline_grok_timeouts", short, stats.get("timeouts"))


def _runner(out: _Families, pipeline_id: str, runner: Any) -> None:
    from pipeline.monitoring import health

    labels = (pipeline_id,)
    queue = runner.queue
    out.add("pipeline_queue_events", (pipeline_id, runner.settings.queue_type), len(queue))
    out.add("pipeline_queue_capacity_events", labels, getattr(queue, "capacity", 0))
    if runner.settings.queue_type == "persisted":
        out.add("pipeline_queue_size_bytes", labels, getattr(queue, "bytes_used", 0))
        out.add("pipeline_queue_max_size_bytes", labels, getattr(queue, "max_bytes", 0))
    out.add("pipeline_workers_inflight_events", labels, runner.state.held()[0])
    for output_id, state in list(runner.state.outputs.items()):
        snap = state.snapshot()
        short = (pipeline_id, output_id)
        out.add("pipeline_output_retries", short, snap["retries"])
        out.add("pipeline_output_failures", short, snap["failures"])
        out.add("pipeline_output_backlog_events", short, snap["backlog"])
        out.add("pipeline_output_last_success_timestamp_seconds", short, snap["last_success_timestamp"])
        out.add("pipeline_output_stalled_seconds", short, snap["busy_for_seconds"] or 0)
    reloads = runner.state.reloads
    out.add("pipeline_reload_successes", labels, reloads.successes)
    out.add("pipeline_reload_failures", labels, reloads.failures)
    out.add("pipeline_reload_last_success_timestamp_seconds", labels, reloads.last_success_timestamp)
    out.add("pipeline_health_status", labels, {"green": 0, "unknown": 1, "yellow": 2, "red": 3}[
        health.pipeline_health(runner)["status"]])


def _dead_letters(out: _Families, pipeline_id: str) -> None:
    from pipeline.queue import dead_letter

    for writer in list(dead_letter._WRITERS.values()):
        if writer.pipeline_id == pipeline_id:
            out.add("pipeline_dlq_events", (pipeline_id,), writer.stats.written)
            out.add("pipeline_dlq_dropped_events", (pipeline_id,), writer.stats.dropped_full)
            out.add("pipeline_dlq_size_bytes", (pipeline_id,), writer.stats.bytes)


def _registry() -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(PipelineCollector())
    ProcessCollector(registry=reg)  # process_* (Linux /proc; absent elsewhere)
    PlatformCollector(registry=reg)  # python_info
    return reg


_REGISTRY: CollectorRegistry | None = None


def exposition() -> bytes:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _registry()
    return generate_latest(_REGISTRY)
