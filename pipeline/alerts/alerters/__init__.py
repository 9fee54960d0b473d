"""Alerters, one module each; ``lookup(name)`` imports ``pipeline.alerts.alerters.<name>``."""

from __future__ import annotations

import importlib
import pkgutil
import re

from pipeline.alerts.alerters.base import Alerter

__all__ = ["Alerter", "available", "lookup"]


def lookup(name: str) -> type[Alerter] | None:
    if not re.fullmatch(r"[a-z][a-z_]*", name) or name in ("base", "http"):
        return None
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        return None
    found = getattr(module, "ALERTER", None)
    return found if isinstance(found, type) and issubclass(found, Alerter) else None


def available() -> list[str]:
    import pipeline.alerts.alerters as package

    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if lookup(m.name))
