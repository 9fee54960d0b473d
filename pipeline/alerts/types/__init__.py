"""Rule types, one module each exporting ``RULE_TYPE``; ``lookup(name)`` imports it on demand."""

from __future__ import annotations

from pipeline.alerts import registry
from pipeline.alerts.types.base import Match, RuleType, Scope

__all__ = ["Match", "RuleType", "Scope", "available", "lookup"]


def lookup(name: str) -> type[RuleType] | None:
    return registry.find(__name__, name, "RULE_TYPE", RuleType)


def available() -> list[str]:
    return registry.names(__name__, "RULE_TYPE", RuleType)
