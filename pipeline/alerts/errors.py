"""Errors of the alert engine (run-time ones; rule problems are ``pipeline.errors.ConfigError``).

    PipelineError
    ├── QueryError          a backend query failed (retried next run; disables the rule when repeated)
    └── DeliveryError       an alerter could not deliver (``retryable``, ``retry_after`` seconds)
"""

from __future__ import annotations

from pipeline.errors import PipelineError


class QueryError(PipelineError):
    """A query against Elasticsearch or the local index failed."""


class DeliveryError(PipelineError):
    """An alerter failed to deliver; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
