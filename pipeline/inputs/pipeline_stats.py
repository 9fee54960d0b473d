"""pipeline_stats input: the pipeline's own event counts as events (for the Pipeline health dashboard)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any

from pipeline.event import Event
from pipeline.inputs.base import Input, InputContext, InputOptions
from pipeline.plugin import Duration, option, register
from pipeline.runtime import registry


@dataclass(frozen=True, kw_only=True)
class PipelineStatsOptions(InputOptions):
    interval: Duration = option(10, "How often to emit the counters.")


def stats_events(host: str) -> list[Event]:
    """One event per running pipeline and one per plugin, ECS-style (event.dataset pipeline.stats)."""
    now = time.time()
    events = []
    for pipeline_id, metrics in registry.running().items():
        base: dict[str, Any] = {"@timestamp": now, "event": {"kind": "metric", "dataset": "pipeline.stats",
                                                             "module": "pipeline"},
                                "service": {"name": "pipeline", "type": "pipeline"}, "host": {"name": host},
                                "pipeline": {"id": pipeline_id}}
        events.append(Event({**base, "metricset": {"name": "pipeline"},
                             "events": {"in": metrics.events_in, "filtered": metrics.events_filtered,
                                        "out": metrics.events_out,
                                        "condition_type_errors": metrics.condition_type_errors,
                                        "output_rejected": metrics.output_rejected}}))
        for plugin in list(metrics.plugins.values()):
            events.append(Event({**base, "metricset": {"name": "plugin"},
                                 "plugin": {"id": plugin.plugin_id, "type": plugin.kind, "name": plugin.name},
                                 "events": {"in": plugin.events_in, "out": plugin.events_out,
                                            "failures": plugin.failures,
                                            "duration_in_millis": round(plugin.duration_ms)}}))
    return events


@register
class PipelineStats(Input):
    """Emits the event counters of every pipeline and plugin of this process every interval."""

    name = "pipeline_stats"
    Options = PipelineStatsOptions

    async def run(self, ctx: InputContext) -> None:
        host = socket.gethostname()
        while not ctx.is_stopping:
            if await ctx.wait_stopping(self.options.interval):
                return
            await ctx.push(stats_events(host))
