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
    terms_window_size: Period = option(Period(30 * 86400), "How far back the first run looks for known "
                                                           "values (later, a value seen once stays known).")

    def __post_init__(self) -> None:
        if not (self.fields or self.query_key):
            raise ValueError("rule type new_term needs fields (or query_key)")


class NewTermRule(RuleType):
    """Match each value of a watched field never seen before.

    As ElastAlert2: terms_window_size bounds only the first look-back (the values of that
    period are known when the rule starts); from then on every value seen is known for
    good, kept in the rule's saved state across restarts.
    """

    name = "new_term"
    Options = NewTermOptions

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        opts: NewTermOptions = self.options  # type: ignore[assignment]
        known_by_field: dict[str, list[Any]] = memory.setdefault("known", {})
        matches = []
        for fieldname in opts.fields or opts.query_key:
            if fieldname not in known_by_field:
                known_by_field[fieldname] = [k for k, _ in scope.terms(
                    fieldname, start - opts.terms_window_size.delta, start, size=KNOWN_TERMS_SIZE)]
            known_list = known_by_field[fieldname]
            known = set(map(_hashable, known_list))
            for value, count in scope.terms(fieldname, start, end, size=KNOWN_TERMS_SIZE):
                if _hashable(value) in known:
                    continue
                known.add(_hashable(value))
                known_list.append(value)
                extra = {"term": {fieldname: value}}
                event = scope.latest(start, end, extra=extra) or nested([fieldname], [value])
                matches.append(Match(time=end, key=scope.key_of(event), event=event, count=count,
                                     window=(start, end), details={"new_field": fieldname, "new_value": value}))
        return matches


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, (list, dict)) else value


RULE_TYPE = NewTermRule
