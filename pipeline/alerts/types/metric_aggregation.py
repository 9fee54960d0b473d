"""A metric (min, max, avg, sum, cardinality, value_count, a percentile) of a field against thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pipeline.alerts.types.base import Match, RuleType, Scope, nested
from pipeline.alerts.types.buckets import BucketOptions, buckets, latest_step_start
from pipeline.plugin import option


@dataclass(frozen=True, kw_only=True)
class MetricAggregationOptions(BucketOptions):
    metric_agg_key: str = option(doc="The numeric field aggregated.")
    metric_agg_type: Literal["min", "max", "avg", "sum", "cardinality", "value_count", "percentiles"] = \
        option(doc="The aggregation.")
    percentile_range: float | None = option(None, "The percentile compared when metric_agg_type is "
                                                  "percentiles (e.g. 95).")
    max_threshold: float | None = option(None, "A match when the metric is above this.")
    min_threshold: float | None = option(None, "A match when the metric is below this.")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_threshold is None and self.min_threshold is None:
            raise ValueError("rule type metric_aggregation needs max_threshold or min_threshold")
        if self.metric_agg_type == "percentiles" and self.percentile_range is None:
            raise ValueError("metric_agg_type percentiles needs percentile_range (e.g. 95)")


class MetricAggregationRule(RuleType):
    """Match when the metric of metric_agg_key over the last buffer_time (or each bucket_interval of
    it) is above max_threshold or below min_threshold (computed by the backend, per query_key value);
    recomputed every run, as ElastAlert2."""

    name = "metric_aggregation"
    Options = MetricAggregationOptions

    def values(self, scope: Scope, start: datetime, end: datetime) -> dict[tuple[Any, ...], float | None]:
        opts: MetricAggregationOptions = self.options  # type: ignore[assignment]
        if opts.metric_agg_type != "percentiles":
            return scope.metric_by_key(opts.metric_agg_type, opts.metric_agg_key, start, end)
        assert opts.percentile_range is not None
        keys = scope.grouped_counts(start, end) if scope.query_key else {(): 0}
        return {key: scope.percentiles(opts.metric_agg_key, (opts.percentile_range,), start, end,
                                       scope.key_query(key)).get(float(opts.percentile_range))
                for key in keys}

    def first_step_start(self, start: datetime, end_limit: datetime) -> datetime:
        return latest_step_start(self.options, start, end_limit)  # type: ignore[arg-type]

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        opts: MetricAggregationOptions = self.options  # type: ignore[assignment]
        matches = []
        for bucket_start, bucket_end, when in buckets(opts, end):
            for key, value in self.values(scope, bucket_start, bucket_end).items():
                if value is None:
                    continue
                above = opts.max_threshold is not None and value > opts.max_threshold
                below = opts.min_threshold is not None and value < opts.min_threshold
                if not (above or below):
                    continue
                event = scope.latest(bucket_start, bucket_end, key) or nested(scope.query_key, key)
                matches.append(Match(time=when, key=key, event=event, window=(bucket_start, bucket_end),
                                     details={"metric_value": value, "metric_agg_type": opts.metric_agg_type,
                                              "metric_agg_key": opts.metric_agg_key}))
        return matches


RULE_TYPE = MetricAggregationRule
