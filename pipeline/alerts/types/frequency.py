"""At least ``num_events`` events within ``timeframe``, per query_key value."""

from __future__ import annotations

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
class FrequencyOptions(RuleOptions):
    num_events: int = option(doc="Events needed within timeframe for a match (more than 10 = 11).",
                             check=lambda v: None if v > 0 else "must be at least 1")
    timeframe: Period = option(doc="The sliding window, e.g. {minutes: 5}.",
                               check=lambda v: None if v > 0 else "must be longer than 0")


class FrequencyRule(RuleType):
    """Match when at least num_events events fall within timeframe (counted by the backend).

    As in ElastAlert2, the events that made a match are not counted again: after a
    match the window of that query_key value restarts at the match time.
    """

    name = "frequency"
    Options = FrequencyOptions

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        opts: FrequencyOptions = self.options  # type: ignore[assignment]
        window_start, _ = self.window(end)
        restarts: dict[str, str] = memory.setdefault("restarted", {})
        matches = []
        for key, count in scope.grouped_counts(window_start, end).items():
            if count < opts.num_events:
                continue
            since = window_start
            restarted = restarts.get(repr(key))
            if restarted is not None:
                since = max(window_start, Timestamp.parse(restarted).to_datetime())
                if since > window_start:
                    count = scope.count(since, end, scope.key_query(key))
            if count < opts.num_events:
                continue
            restarts[repr(key)] = iso(end)
            event = scope.latest(since, end, key) or nested(scope.query_key, key)
            matches.append(Match(time=end, key=key, event=event, count=count, window=(since, end),
                                 details={"num_events": opts.num_events}))
        # Forget restart points that no longer overlap any window.
        for key_repr, when in list(restarts.items()):
            if Timestamp.parse(when).to_datetime() <= window_start:
                del restarts[key_repr]
        return matches


RULE_TYPE = FrequencyRule
