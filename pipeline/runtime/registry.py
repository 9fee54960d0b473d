"""The running pipelines of this process, for the monitoring API and the pipeline_stats input."""

from __future__ import annotations

import threading
from typing import Any

from pipeline.runtime.metrics import PipelineMetrics

_lock = threading.Lock()
_pipelines: dict[str, PipelineMetrics] = {}
_runners: dict[str, Any] = {}  # pipeline id -> PipelineRunner (state, queue), when run by the agent


def add(metrics: PipelineMetrics, runner: Any = None) -> None:
    with _lock:
        _pipelines[metrics.pipeline_id] = metrics
        if runner is not None:
            _runners[metrics.pipeline_id] = runner


def remove(pipeline_id: str, runner: Any = None) -> None:
    """Forget a pipeline; with ``runner``, only if that runner is still the registered one (a reload
    may already have registered its replacement)."""
    with _lock:
        if runner is not None and _runners.get(pipeline_id) not in (None, runner):
            return
        _pipelines.pop(pipeline_id, None)
        _runners.pop(pipeline_id, None)


def running() -> dict[str, PipelineMetrics]:
    with _lock:
        return dict(_pipelines)


def runners() -> dict[str, Any]:
    with _lock:
        return dict(_runners)
