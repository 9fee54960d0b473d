"""A metric (min, max, avg, sum, cardinality, value_count, a percentile) of a field against thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pipeline.alerts.options import RuleOptions
from pipeline.alerts.periods import Period
from pipeline.alerts.types.base import Match, RuleType, Scope, nested
from pipeline.plugin import option


@dataclass(frozen=True, kw_only=True)
class MetricAggregationOptions(RuleOptions):
    metric_agg_key: str = option(doc="The numeric field aggregated.")
    metric_agg_type: Literal["min", "max", "avg", "sum", "cardinality", "value_count", "percentiles"] = \
        option(doc="The aggregation.")
    percentile_range: float | None = option(None, "The percentile compared when metric_agg_type is "
                                                  "percentiles (e.g. 95).")
    max_threshold: float | None = option(None, "A match when the metric is above this.")
    min_threshold: float | None = option(None, "A match when the metric is below this.")
    bucket_interval: Period | None = option(None, "Window the metric is computed over (default: "
                                                  "run_every).")

    def __post_init__(self) -> None:
        if self.max_threshold is None and self.min_threshold is None:
            raise ValueError("rule type metric_aggregation needs max_threshold or min_threshold")
        if self.metric_agg_type == "percentiles" and self.percentile_range is None:
            raise ValueError("metric_agg_type percentiles needs percentile_range (e.g. 95)")


class MetricAggregationRule(RuleType):
    """Match when the metric of metric_agg_key over the bucket interval is above max_threshold or below
    min_threshold (computed by the backend, per query_key value)."""

    name = "metric_aggregation"
    Options = MetricAggregationOptions

    def step(self) -> timedelta:
        opts: MetricAggregationOptions = self.options  # type: ignore[assignment]
        return (opts.bucket_interval or opts.run_every).delta  # buckets tile time: one result each

    def window(self, end: datetime) -> tuple[datetime, datetime]:
        return end - self.step(), end

    def values(self, scope: Scope, start: datetime, end: datetime) -> dict[tuple[Any, ...], float | None]:
        opts: MetricAggregationOptions = self.options  # type: ignore[assignment]
        if opts.metric_agg_type != "percentiles":
            return scope.metric_by_key(opts.metric_agg_type, opts.metric_agg_key, start, end)
        assert opts.percentile_range is not None
        keys = scope.grouped_counts(start, end) if scope.query_key else {(): 0}
        return {key: scope.percentiles(opts.metric_agg_key, (opts.percentile_range,), start, end,
                                       scope.key_query(key)).get(float(opts.percentile_range))
                for key in keys}

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        opts: MetricAggregationOptions = self.options  # type: ignore[assignment]
        window_start, _ = self.window(end)
        matches = []
        for key, value in self.values(scope, window_start, end).items():
            if value is None:
                continue
            above = opts.max_threshold is not None and value > opts.max_threshold
            below = opts.min_threshold is not None and value < opts.min_threshold
            if not (above or below):
                continue
            event = scope.latest(window_start, end, key) or nested(scope.query_key, key)
            matches.append(Match(time=end, key=key, event=event, window=(window_start, end),
                                 details={"metric_value": value, "metric_agg_type": opts.metric_agg_type,
                                          "metric_agg_key": opts.metric_agg_key}))
        return matches


RULE_TYPE = MetricAggregationRule
