"""Events whose ``compare_key`` is not in a list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.alerts.options import RuleOptions
from pipeline.alerts.types.base import Match, RuleType, Scope, lookup_field
from pipeline.alerts.types.value_lists import expand_values
from pipeline.plugin import option


@dataclass(frozen=True, kw_only=True)
class WhitelistOptions(RuleOptions):
    compare_key: str = option(doc="The field compared with the list.")
    whitelist: list[Any] = option(doc="Allowed values; '!file /path' reads one value per line.")
    ignore_null: bool = option(doc="true: events without compare_key do not match.")


class WhitelistRule(RuleType):
    """Match every event whose compare_key is not one of the whitelist values (the backend filters)."""

    name = "whitelist"
    Options = WhitelistOptions
    document_based = True

    def __init__(self, options: RuleOptions) -> None:
        super().__init__(options)
        opts: WhitelistOptions = options  # type: ignore[assignment]
        allowed = {"terms": {opts.compare_key: expand_values(opts.whitelist)}}
        must: list[dict[str, Any]] = [{"exists": {"field": opts.compare_key}}] if opts.ignore_null else []
        self.clause = {"bool": {"must_not": [allowed], **({"filter": must} if must else {})}}

    def evaluate(self, scope: Scope, start: datetime, end: datetime, memory: dict[str, Any]) -> list[Match]:
        field = self.options.compare_key  # type: ignore[attr-defined]
        return [Match(time=scope.event_time(doc, end), key=scope.key_of(doc), event=doc, count=1,
                      window=(start, end), details={"field": field, "value": lookup_field(doc, field)})
                for doc in scope.documents(start, end, self.clause)]


RULE_TYPE = WhitelistRule
