"""The event rate of the current timeframe against the one before it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pipeline.alerts.options import RuleOptions
from pipeline.alerts.periods import Period
from pipeline.alerts.query import iso
from pipeline.alerts.types.base import Match, RuleType, Scope, nested
from pipeline.plugin import option
from pipeline.timestamp import Timestamp


def parse_time(text: str) -> datetime:
    return Timestamp.parse(text).to_datetime()


@dataclass(frozen=True, kw_only=True)
class SpikeOptions(RuleOptions):
    timeframe: Period = option(doc="Length of the current and of the reference window.",
                               check=lambda v: None if v > 0 else "must be longer than 0")
    spike_height: float = option(doc="Ratio between the windows that makes a spike (e.g. 3).",
                                 check=lambda v: None if v > 0 else "must be greater than 0")
    spike_type: Literal["up", "down", "both"] = option(doc="Direction of the spike.")
    threshold_ref: int = option(0, "Minimum events in the reference window to alert.")
    threshold_cur: int = option(0, "Minimum events in the current window to alert.")
    alert_on_new_data: bool = option(False, "With query_key: a new value may match before it was watched "
                                                    "for two timeframes.")


class SpikeRule(RuleType):
    """Match when the count of the current timeframe is spike_height times higher (up) or lower (down)
    than the count of the timeframe before it.

    As ElastAlert2: a query_key value is watched for two timeframes after its first event before it
    can match (with alert_on_new_data and query_key, a new value may match at once once any value
    has been watched that long); after a match its windows restart, so one spike alerts once.
    Two empty windows never match.
    """

    name = "spike"
    Options = SpikeOptions

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        opts: SpikeOptions = self.options  # type: ignore[assignment]
        cur_start = end - opts.timeframe.delta
        ref_start = cur_start - opts.timeframe.delta
        current = scope.grouped_counts(cur_start, end)
        reference = scope.grouped_counts(ref_start, cur_start)
        step_counts = scope.grouped_counts(start, end)
        first_seen: dict[str, str] = memory.setdefault("first_seen", {})
        quiet_until: dict[str, str] = memory.setdefault("quiet_until", {})
        warmup = 2 * opts.timeframe.delta
        matches = []
        for key in sorted(set(current) | set(reference), key=repr):
            name = json.dumps(list(key), default=str)
            cur, ref = current.get(key, 0), reference.get(key, 0)
            if name not in first_seen:
                if not step_counts.get(key):
                    continue  # only windows of events before the rule watched: not seen yet
                first_seen[name] = iso(scope.first_time(start, end, key))  # ElastAlert2: the first event
            watched = end - parse_time(first_seen[name]) >= warmup
            if watched:
                memory["filled_once"] = True
            elif not (memory.get("filled_once") and opts.alert_on_new_data and scope.query_key
                      and (name not in quiet_until or end >= parse_time(quiet_until[name]))):
                continue
            if not self.is_spike(cur, ref):
                continue
            first_seen[name] = iso(end)  # windows restart: watched two timeframes again before a match
            quiet_until[name] = iso(end + warmup)
            event = scope.latest(cur_start, end, key) or nested(scope.query_key, key)
            matches.append(Match(time=end, key=key, event=event, count=cur, window=(cur_start, end),
                                 details={"spike_count": cur, "reference_count": ref,
                                          "direction": "up" if cur > ref else "down"}))
        # Values gone from both windows are forgotten (ElastAlert2 drops their windows).
        live = {json.dumps(list(k), default=str) for k in set(current) | set(reference)}
        for name in [n for n in first_seen if n not in live and n != "[]"]:
            del first_seen[name]
        for name in [n for n, until in quiet_until.items() if parse_time(until) <= end]:
            del quiet_until[name]
        return matches

    def is_spike(self, cur: int, ref: int) -> bool:
        """ElastAlert2's find_matches, except that two empty windows are no spike."""
        opts: SpikeOptions = self.options  # type: ignore[assignment]
        if cur < opts.threshold_cur or ref < opts.threshold_ref or (cur == 0 and ref == 0):
            return False
        up = opts.spike_type in ("up", "both") and cur >= ref * opts.spike_height
        down = opts.spike_type in ("down", "both") and cur <= ref / opts.spike_height
        return up or down


RULE_TYPE = SpikeRule
