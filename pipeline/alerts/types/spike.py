"""The event rate of the current timeframe against the one before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pipeline.alerts.options import RuleOptions
from pipeline.alerts.periods import Period
from pipeline.alerts.types.base import Match, RuleType, Scope, nested
from pipeline.plugin import option


@dataclass(frozen=True, kw_only=True)
class SpikeOptions(RuleOptions):
    timeframe: Period = option(doc="Length of the current and of the reference window.",
                               check=lambda v: None if v > 0 else "must be longer than 0")
    spike_height: float = option(doc="Ratio between the windows that makes a spike (e.g. 3).",
                                 check=lambda v: None if v > 0 else "must be greater than 0")
    spike_type: Literal["up", "down", "both"] = option(doc="Direction of the spike.")
    threshold_ref: int = option(0, "Minimum events in the reference window to alert.")
    threshold_cur: int = option(0, "Minimum events in the current window to alert.")
    alert_on_new_data: bool = option(False, "Alert on a spike up from a reference of 0 events.")


class SpikeRule(RuleType):
    """Match when the count of the current timeframe is spike_height times higher (up) or lower (down)
    than the count of the timeframe before it."""

    name = "spike"
    Options = SpikeOptions

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        opts: SpikeOptions = self.options  # type: ignore[assignment]
        cur_start = end - opts.timeframe.delta
        ref_start = cur_start - opts.timeframe.delta
        current = scope.grouped_counts(cur_start, end)
        reference = scope.grouped_counts(ref_start, cur_start)
        matches = []
        for key in sorted(set(current) | set(reference), key=repr):
            cur, ref = current.get(key, 0), reference.get(key, 0)
            if not self.is_spike(cur, ref):
                continue
            event = scope.latest(cur_start, end, key) or nested(scope.query_key, key)
            matches.append(Match(time=end, key=key, event=event, count=cur, window=(cur_start, end),
                                 details={"spike_count": cur, "reference_count": ref,
                                          "direction": "up" if cur > ref else "down"}))
        return matches

    def is_spike(self, cur: int, ref: int) -> bool:
        opts: SpikeOptions = self.options  # type: ignore[assignment]
        if cur < opts.threshold_cur or ref < opts.threshold_ref:
            return False
        if ref == 0:
            return opts.alert_on_new_data and opts.spike_type in ("up", "both") and cur > 0
        up = opts.spike_type in ("up", "both") and cur >= ref * opts.spike_height
        down = opts.spike_type in ("down", "both") and cur * opts.spike_height <= ref
        return up or down


RULE_TYPE = SpikeRule
