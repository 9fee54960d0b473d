"""The share of events that match ``match_bucket_filter``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.alerts.options import RuleOptions
from pipeline.alerts.query import Query, compile_filters
from pipeline.alerts.types.base import Match, RuleType, Scope, nested
from pipeline.alerts.types.buckets import BucketOptions, buckets, latest_step_start
from pipeline.plugin import option


@dataclass(frozen=True, kw_only=True)
class PercentageMatchOptions(BucketOptions):
    match_bucket_filter: list[Any] = option(doc="Filter clauses selecting the counted share (same forms "
                                                "as filter).")
    min_percentage: float | None = option(None, "A match when the share is below this percentage.")
    max_percentage: float | None = option(None, "A match when the share is above this percentage.")
    min_denominator: int = option(0, "Fewer events than this in the window never match.")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_percentage is None and self.max_percentage is None:
            raise ValueError("rule type percentage_match needs min_percentage or max_percentage")


class PercentageMatchRule(RuleType):
    """Match when the percentage of events passing match_bucket_filter (of all events passing filter)
    is below min_percentage or above max_percentage (two counts, per query_key value)."""

    name = "percentage_match"
    Options = PercentageMatchOptions

    def __init__(self, options: RuleOptions) -> None:
        super().__init__(options)
        opts: PercentageMatchOptions = options  # type: ignore[assignment]
        self.bucket_query: Query | None = compile_filters(opts.match_bucket_filter, "match_bucket_filter")

    def first_step_start(self, start: datetime, end_limit: datetime) -> datetime:
        return latest_step_start(self.options, start, end_limit)  # type: ignore[arg-type]

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        opts: PercentageMatchOptions = self.options  # type: ignore[assignment]
        matches = []
        for bucket_start, bucket_end, when in buckets(opts, end):
            totals = scope.grouped_counts(bucket_start, bucket_end)
            matching = scope.grouped_counts(bucket_start, bucket_end, self.bucket_query)
            for key, total in totals.items():
                if not total or total < opts.min_denominator:
                    continue
                percentage = 100.0 * matching.get(key, 0) / total
                low = opts.min_percentage is not None and percentage < opts.min_percentage
                high = opts.max_percentage is not None and percentage > opts.max_percentage
                if not (low or high):
                    continue
                event = scope.latest(bucket_start, bucket_end, key) or nested(scope.query_key, key)
                matches.append(Match(time=when, key=key, event=event, count=total,
                                     window=(bucket_start, bucket_end),
                                     details={"percentage": round(percentage, 2), "denominator": total,
                                              "numerator": matching.get(key, 0)}))
        return matches


RULE_TYPE = PercentageMatchRule
