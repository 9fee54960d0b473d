"""A value of a field never seen in the previous ``terms_window_size``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.alerts.options import RuleOptions
from pipeline.alerts.periods import Period
from pipeline.alerts.types.base import KNOWN_TERMS_SIZE, Match, RuleType, Scope, nested
from pipeline.plugin import option

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class NewTermOptions(RuleOptions):
    fields: list[str] = option([], "Fields watched for new values (default: query_key).")
    terms_window_size: Period = option(Period(30 * 86400), "How far back the first run looks for known "
                                                           "values (later, a value seen once stays known).")
    use_keyword_postfix: bool = option(True, "Aggregate <field>.keyword, the exact-value sub-field dynamic "
                                             "mapping gives strings (as ElastAlert2); false: the field as "
                                             "written (keyword, number or ip fields).")

    def __post_init__(self) -> None:
        if not (self.fields or self.query_key):
            raise ValueError("rule type new_term needs fields (or query_key)")
        if self.use_terms_query and self.use_keyword_postfix and self.query_key and \
                not self.query_key[0].endswith((".keyword", ".raw")):
            # ElastAlert2's own warning: its per-run terms query uses query_key as written.
            log.warning("new_term: with use_terms_query, a query_key that is not a keyword field needs "
                        "use_keyword_postfix: false, or .keyword/.raw added to it")


class NewTermRule(RuleType):
    """Match each value of a watched field never seen before.

    As ElastAlert2: terms_window_size bounds only the first look-back (the values of that
    period are known when the rule starts); from then on every value seen is known for
    good, kept in the rule's saved state across restarts.

    Fields as ElastAlert2 2.19 queries them (NewTermsRule.get_all_terms): with `use_keyword_postfix`
    (the default) the look-back aggregates `<field>.keyword` (a name already ending in `.keyword` is kept).
    Each run reads values the `.keyword` sub-field holds exactly, so it aggregates the same field, except
    with `use_terms_query`, where ElastAlert2 aggregates query_key as written. Alerts name the field as
    written (`new_field`).
    """

    name = "new_term"
    Options = NewTermOptions

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        opts: NewTermOptions = self.options  # type: ignore[assignment]
        known_by_field: dict[str, list[Any]] = memory.setdefault("known", {})
        matches = []
        for fieldname in opts.fields or opts.query_key:
            exact = scope.keyword_field(fieldname) if opts.use_keyword_postfix else fieldname
            per_run = fieldname if opts.use_terms_query else exact
            if fieldname not in known_by_field:
                known_by_field[fieldname] = [k for k, _ in scope.terms(
                    exact, start - opts.terms_window_size.delta, start, size=KNOWN_TERMS_SIZE)]
            known_list = known_by_field[fieldname]
            known = set(map(_hashable, known_list))
            for value, count in scope.terms(per_run, start, end, size=KNOWN_TERMS_SIZE):
                if _hashable(value) in known:
                    continue
                known.add(_hashable(value))
                known_list.append(value)
                extra = {"term": {per_run: value}}
                event = scope.latest(start, end, extra=extra) or nested([fieldname], [value])
                matches.append(Match(time=end, key=scope.key_of(event), event=event, count=count,
                                     window=(start, end), details={"new_field": fieldname, "new_value": value}))
        return matches


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, (list, dict)) else value


RULE_TYPE = NewTermRule
