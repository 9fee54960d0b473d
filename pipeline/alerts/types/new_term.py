"""A value of a field never seen in the previous ``terms_window_size``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.alerts.options import RuleOptions
from pipeline.alerts.periods import Period
from pipeline.alerts.types.base import KNOWN_TERMS_SIZE, Match, RuleType, Scope, nested
from pipeline.plugin import option


@dataclass(frozen=True, kw_only=True)
class NewTermOptions(RuleOptions):
    fields: list[str] = option([], "Fields watched for new values (default: query_key).")
    terms_window_size: Period = option(Period(30 * 86400), "How far back a value counts as known.")

    def __post_init__(self) -> None:
        if not (self.fields or self.query_key):
            raise ValueError("rule type new_term needs fields (or query_key)")


class NewTermRule(RuleType):
    """Match each value of a watched field that did not occur in the terms_window_size before the step
    (both sets come from terms aggregations)."""

    name = "new_term"
    Options = NewTermOptions

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        opts: NewTermOptions = self.options  # type: ignore[assignment]
        matches = []
        for fieldname in opts.fields or opts.query_key:
            current = scope.terms(fieldname, start, end)
            if not current:
                continue
            known = {k for k, _ in scope.terms(fieldname, start - opts.terms_window_size.delta, start,
                                               size=KNOWN_TERMS_SIZE)}
            for value, count in current:
                if value in known:
                    continue
                extra = {"term": {fieldname: value}}
                event = scope.latest(start, end, extra=extra) or nested([fieldname], [value])
                matches.append(Match(time=end, key=(value,), event=event, count=count, window=(start, end),
                                     details={"new_field": fieldname, "new_value": value}))
        return matches


RULE_TYPE = NewTermRule
