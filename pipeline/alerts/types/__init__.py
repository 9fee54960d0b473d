"""Rule types, one module each; ``lookup(name)`` imports ``pipeline.alerts.types.<name>``."""

from __future__ import annotations

import importlib
import pkgutil
import re

from pipeline.alerts.types.base import Match, RuleType, Scope

__all__ = ["Match", "RuleType", "Scope", "available", "lookup"]


def lookup(name: str) -> type[RuleType] | None:
    if not re.fullmatch(r"[a-z][a-z_]*", name) or name == "base":
        return None
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        return None
    found = getattr(module, "RULE_TYPE", None)
    return found if isinstance(found, type) and issubclass(found, RuleType) else None


def available() -> list[str]:
    import pipeline.alerts.types as package

    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if lookup(m.name))
