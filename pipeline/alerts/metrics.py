"""Counters of the alert engine for ``pipeline alerts run``'s ``GET /metrics`` (Prometheus text format).

The engine calls the three ``record_*`` functions; everything else (the HTTP server, the families)
lives here so the engine stays about alerts. Names are listed in docs/monitoring.md.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger("pipeline.alerts.metrics")
_lock = threading.Lock()
_runs: Counter[str] = Counter()
_run_failures: Counter[str] = Counter()
_matches: Counter[str] = Counter()
_sent: Counter[tuple[str, str]] = Counter()
_send_failures: Counter[tuple[str, str]] = Counter()
_outbox = {"size": 0}

# (exposed name, type, help, labels): the list docs/monitoring.md shows.
METRICS = (
    ("pipeline_alerts_rule_runs_total", "counter", "Runs of a rule.", ("rule",)),
    ("pipeline_alerts_rule_run_failures_total", "counter", "Runs of a rule whose query failed.", ("rule",)),
    ("pipeline_alerts_matches_total", "counter", "Matches found by a rule.", ("rule",)),
    ("pipeline_alerts_sent_total", "counter", "Alerts delivered, per rule and alerter.", ("rule", "alerter")),
    ("pipeline_alerts_send_failures_total", "counter", "Failed delivery attempts (retried or given up).",
     ("rule", "alerter")),
    ("pipeline_alerts_outbox_size", "gauge", "Alerts waiting in the outbox to be delivered.", ()),
)


def record_run(rule: str, matches: int, failed: bool) -> None:
    with _lock:
        _runs[rule] += 1
        _matches[rule] += matches
        if failed:
            _run_failures[rule] += 1


def record_delivery(rule: str, alerter: str, sent: bool) -> None:
    with _lock:
        (_sent if sent else _send_failures)[(rule, alerter)] += 1


def record_outbox(size: int) -> None:
    _outbox["size"] = size


class AlertCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        with _lock:
            runs, failures, matches = dict(_runs), dict(_run_failures), dict(_matches)
            sent, send_failures = dict(_sent), dict(_send_failures)
        for name, help_text, values in (("pipeline_alerts_rule_runs", METRICS[0][2], runs),
                                        ("pipeline_alerts_rule_run_failures", METRICS[1][2], failures),
                                        ("pipeline_alerts_matches", METRICS[2][2], matches)):
            family = CounterMetricFamily(name, help_text, labels=["rule"])
            for rule, value in sorted(values.items()):
                family.add_metric([rule], value)
            yield family
        for name, help_text, pairs in (("pipeline_alerts_sent", METRICS[3][2], sent),
                                       ("pipeline_alerts_send_failures", METRICS[4][2], send_failures)):
            family = CounterMetricFamily(name, help_text, labels=["rule", "alerter"])
            for (rule, alerter), value in sorted(pairs.items()):
                family.add_metric([rule, alerter], value)
            yield family
        yield GaugeMetricFamily("pipeline_alerts_outbox_size", METRICS[5][2], value=_outbox["size"])


def serve(host: str, port: int) -> bool:
    """Serve /metrics from a daemon thread; False (logged) when the port cannot be bound."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AlertCollector())
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        log.warning("alerts metrics not served: cannot listen on %s:%d: %s", host, port, exc.strerror or exc)
        return False
    log.info("alerts metrics on http://%s:%d/metrics", host, port)
    return True
