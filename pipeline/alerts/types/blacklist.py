"""Events whose ``compare_key`` is in a list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.alerts.options import RuleOptions
from pipeline.alerts.types.base import Match, RuleType, Scope, lookup_field
from pipeline.alerts.types.value_lists import expand_values
from pipeline.plugin import option


@dataclass(frozen=True, kw_only=True)
class BlacklistOptions(RuleOptions):
    compare_key: str = option(doc="The field compared with the list.")
    blacklist: list[Any] = option(doc="Values that alert; '!file /path' reads one value per line.")


class BlacklistRule(RuleType):
    """Match every event whose compare_key is one of the blacklist values (the backend filters)."""

    name = "blacklist"
    Options = BlacklistOptions
    document_based = True

    def __init__(self, options: RuleOptions) -> None:
        super().__init__(options)
        opts: BlacklistOptions = options  # type: ignore[assignment]
        self.values = expand_values(opts.blacklist)
        self.clause = {"terms": {opts.compare_key: self.values}}

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        field = self.options.compare_key  # type: ignore[attr-defined]
        return [Match(time=scope.event_time(doc, end), key=scope.key_of(doc), event=doc, count=1,
                      window=(start, end), details={"field": field, "value": lookup_field(doc, field)})
                for doc in scope.documents(start, end, self.clause)]


RULE_TYPE = BlacklistRule
