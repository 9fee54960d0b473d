"""Every event that passes the filter is a match."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.alerts.types.base import Match, RuleType, Scope


class AnyRule(RuleType):
    """Alert on every event that passes the filter (silenced per query_key by realert)."""

    name = "any"
    document_based = True

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        return [Match(time=scope.event_time(doc, end), key=scope.key_of(doc), event=doc, count=1,
                      window=(start, end))
                for doc in scope.documents(start, end)]


RULE_TYPE = AnyRule
