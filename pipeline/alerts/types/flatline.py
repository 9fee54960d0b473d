"""Fewer than ``threshold`` events within ``timeframe``."""

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
class FlatlineOptions(RuleOptions):
    threshold: int = option(doc="A match when fewer events than this fall within timeframe.",
                            check=lambda v: None if v > 0 else "must be at least 1")
    timeframe: Period = option(doc="The window counted.", check=lambda v: None if v > 0 else "must be > 0")
    forget_keys: bool = option(False, "With query_key: stop watching a value once it alerted.")


class FlatlineRule(RuleType):
    """Match when fewer than threshold events fall within timeframe (per query_key value: values seen
    before that go quiet). No match before the rule has watched for one full timeframe."""

    name = "flatline"
    Options = FlatlineOptions

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        opts: FlatlineOptions = self.options  # type: ignore[assignment]
        window_start = end - opts.timeframe.delta
        first = memory.setdefault("watching_since", iso(start))
        counts = scope.grouped_counts(window_start, end)
        known: list[list[Any]] = memory.setdefault("keys", [])
        for key in counts:
            if key and list(key) not in known:
                known.append(list(key))
        del known[:-opts.terms_size]
        if Timestamp.parse(first).to_datetime() > window_start:
            return []  # not watched for a full timeframe yet
        keys = [tuple(k) for k in known] if scope.query_key else [()]
        matches = []
        for key in keys:
            count = counts.get(key, 0)
            if count >= opts.threshold:
                continue
            if opts.forget_keys and key:
                known.remove(list(key))
            matches.append(Match(time=end, key=key, event=nested(scope.query_key, key), count=count,
                                 window=(window_start, end), details={"threshold": opts.threshold}))
        return matches


RULE_TYPE = FlatlineRule
