"""The number of distinct values of a field within ``timeframe``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.alerts.options import RuleOptions
from pipeline.alerts.periods import Period
from pipeline.alerts.query import iso
from pipeline.alerts.types.base import Match, RuleType, Scope, nested
from pipeline.plugin import option
from pipeline.timestamp import Timestamp


@dataclass(frozen=True, kw_only=True)
class CardinalityOptions(RuleOptions):
    cardinality_field: str = option(doc="The field whose distinct values are counted.")
    timeframe: Period = option(doc="The window counted.", check=lambda v: None if v > 0 else "must be > 0")
    max_cardinality: int | None = option(None, "A match when more distinct values than this.")
    min_cardinality: int | None = option(None, "A match when fewer distinct values than this.")

    def __post_init__(self) -> None:
        if self.max_cardinality is None and self.min_cardinality is None:
            raise ValueError("rule type cardinality needs max_cardinality or min_cardinality")


class CardinalityRule(RuleType):
    """Match when the distinct values of cardinality_field within timeframe exceed max_cardinality or
    fall below min_cardinality (a cardinality aggregation, per query_key value).

    As ElastAlert2: too few values only match once a timeframe has passed since the first event
    of the key, and a match restarts that wait.
    """

    name = "cardinality"
    Options = CardinalityOptions

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        opts: CardinalityOptions = self.options  # type: ignore[assignment]
        window_start, _ = self.window(end)
        first_seen: dict[str, str] = memory.setdefault("first_seen", {})
        arrived = scope.grouped_counts(start, end)  # ElastAlert2 checks a key when an event of it arrives
        matches = []
        for key, value in scope.metric_by_key("cardinality", opts.cardinality_field, window_start,
                                              end).items():
            distinct = int(value or 0)
            if not distinct or not arrived.get(key):
                continue
            name = json.dumps(list(key), default=str)
            first = Timestamp.parse(first_seen.setdefault(name, iso(end))).to_datetime()
            too_many = opts.max_cardinality is not None and distinct > opts.max_cardinality
            too_few = (opts.min_cardinality is not None and distinct < opts.min_cardinality
                       and end - first > opts.timeframe.delta)
            if not (too_many or too_few):
                continue
            del first_seen[name]
            event = scope.latest(window_start, end, key) or nested(scope.query_key, key)
            matches.append(Match(time=end, key=key, event=event, window=(window_start, end),
                                 details={"cardinality": distinct, "cardinality_field": opts.cardinality_field}))
        return matches


RULE_TYPE = CardinalityRule
