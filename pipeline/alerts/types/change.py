"""A field changing value for the same query_key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.alerts.options import RuleOptions
from pipeline.alerts.periods import Period
from pipeline.alerts.query import iso
from pipeline.alerts.types.base import Match, RuleType, Scope, lookup_field
from pipeline.plugin import option
from pipeline.timestamp import Timestamp


@dataclass(frozen=True, kw_only=True)
class ChangeOptions(RuleOptions):
    compare_key: list[str] = option(doc="Field(s) whose value is watched.")
    ignore_null: bool = option(doc="true: events without compare_key are skipped.")
    timeframe: Period | None = option(None, "Only a change within this period of the previous value "
                                            "matches.")

    def __post_init__(self) -> None:
        if not self.query_key:
            raise ValueError("rule type change needs query_key (whose value is followed)")


class ChangeRule(RuleType):
    """Match when compare_key differs from its previous value for the same query_key value
    (the last value per key is kept across restarts)."""

    name = "change"
    Options = ChangeOptions
    document_based = True

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        opts: ChangeOptions = self.options  # type: ignore[assignment]
        last: dict[str, dict[str, Any]] = memory.setdefault("last", {})
        matches = []
        for doc in scope.documents(start, end):
            value = [lookup_field(doc, f) for f in opts.compare_key]
            if opts.ignore_null and any(v is None for v in value):
                continue
            key = scope.key_of(doc)
            when = scope.event_time(doc, end)
            previous = last.get(repr(key))
            last[repr(key)] = {"value": value, "time": iso(when)}
            if previous is None or previous["value"] == value:
                continue
            if opts.timeframe is not None and \
                    when - Timestamp.parse(previous["time"]).to_datetime() > opts.timeframe.delta:
                continue
            matches.append(Match(time=when, key=key, event=doc, count=1, window=(start, end),
                                 details={"field": ", ".join(opts.compare_key),
                                          "old_value": _one(previous["value"]), "new_value": _one(value)}))
        if len(last) > opts.terms_size * 20:  # bounded memory: keep the most recent keys
            for stale in sorted(last, key=lambda k: last[k]["time"])[: len(last) - opts.terms_size * 20]:
                del last[stale]
        return matches


def _one(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


RULE_TYPE = ChangeRule
