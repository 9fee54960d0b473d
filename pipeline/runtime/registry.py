"""The running pipelines of this process, for the monitoring API and the pipeline_stats input."""

from __future__ import annotations

import threading

from pipeline.runtime.metrics import PipelineMetrics

_lock = threading.Lock()
_pipelines: dict[str, PipelineMetrics] = {}


def add(metrics: PipelineMetrics) -> None:
    with _lock:
        _pipelines[metrics.pipeline_id] = metrics


def remove(pipeline_id: str) -> None:
    with _lock:
        _pipelines.pop(pipeline_id, None)


def running() -> dict[str, PipelineMetrics]:
    with _lock:
        return dict(_pipelines)
