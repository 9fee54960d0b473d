"""Alerters, one module each exporting ``ALERTER``; ``lookup(name)`` imports it on demand."""

from __future__ import annotations

from pipeline.alerts import registry
from pipeline.alerts.alerters.base import Alerter

__all__ = ["Alerter", "available", "lookup"]


def lookup(name: str) -> type[Alerter] | None:
    return registry.find(__name__, name, "ALERTER", Alerter)


def available() -> list[str]:
    return registry.names(__name__, "ALERTER", Alerter)
