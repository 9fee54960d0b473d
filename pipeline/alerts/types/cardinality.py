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

    As ElastAlert2: too many values match when events arrive; too few are checked every run once
    more than a timeframe has passed since the first event of the key, and a match restarts that wait.
    """

    name = "cardinality"
    Options = CardinalityOptions

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        opts: CardinalityOptions = self.options  # type: ignore[assignment]
        window_start, _ = self.window(end)
        first_seen: dict[str, str] = memory.setdefault("first_seen", {})
        known: dict[str, list[Any]] = memory.setdefault("known", {})
        arrived = scope.grouped_counts(start, end)
        for key in arrived:
            name = json.dumps(list(key), default=str)
            known.setdefault(name, list(key))
            if name not in first_seen:  # ElastAlert2: the time of the key's first event
                first_seen[name] = iso(scope.first_time(start, end, key))
        values = scope.metric_by_key("cardinality", opts.cardinality_field, window_start, end)
        matches = []
        for name, key_list in list(known.items()):
            key = tuple(key_list)
            distinct = int(values.get(key) or 0)
            # Too many: checked when events of the key arrive. Too few: checked every run (ElastAlert2's
            # garbage_collect), once more than a timeframe has passed since the key's first event.
            too_many = opts.max_cardinality is not None and distinct > opts.max_cardinality and key in arrived
            first = first_seen.get(name)
            too_few = (opts.min_cardinality is not None and distinct < opts.min_cardinality and first is not None
                       and end - Timestamp.parse(first).to_datetime() > opts.timeframe.delta)
            if not (too_many or too_few):
                continue
            first_seen.pop(name, None)
            event = scope.latest(window_start, end, key) or nested(scope.query_key, key)
            matches.append(Match(time=end, key=key, event=event, window=(window_start, end),
                                 details={"cardinality": distinct, "cardinality_field": opts.cardinality_field}))
        del_names = list(known)[:-opts.terms_size]
        for name in del_names:  # bounded like the other per-key memories
            known.pop(name)
        return matches


RULE_TYPE = CardinalityRule
