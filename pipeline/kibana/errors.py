"""Errors of the dashboard generator and the Kibana import client."""

from __future__ import annotations


class SpecError(ValueError):
    """A dashboard spec is invalid; the message starts with ``file:line``."""

    def __init__(self, message: str, source: str = "<spec>", line: int | None = None) -> None:
        self.source, self.line, self.reason = source, line, message
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}")


class KibanaError(RuntimeError):
    """Kibana could not be reached, refused a request, or rejected some objects."""


class KibanaNotReadyError(KibanaError):
    """Kibana did not report itself available before the timeout."""
