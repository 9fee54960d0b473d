"""Rate-limited warnings: a filter failing on many events must not flood the log or slow the pipeline."""

from __future__ import annotations

import logging
import time
from typing import Any


class WarningLimiter:
    """Logs the first warning, then at most one per ``interval`` seconds with a count of those skipped."""

    __slots__ = ("logger", "interval", "_next", "_skipped")

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self.logger = logger
        self.interval = interval
        self._next = 0.0
        self._skipped = 0

    def warning(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now < self._next:
            self._skipped += 1
            return
        if self._skipped:
            message += f" (and {self._skipped} similar warnings in the last {self.interval:.0f}s)"
            self._skipped = 0
        self._next = now + self.interval
        self.logger.warning(message, *args)
