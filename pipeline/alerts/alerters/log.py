"""Write alerts to the pipeline's log."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.alerts.alerters.base import Alerter, AlerterOptions
from pipeline.plugin import option


@dataclass(frozen=True, kw_only=True)
class LogOptions(AlerterOptions):
    level: Literal["info", "warning", "error", "critical"] = option("warning", "Log level of alerts.")
    logger: str = option("pipeline.alerts.fired", "Logger name.")


class LogAlerter(Alerter):
    """Log each alert (subject and text) at the chosen level."""

    name = "log"
    Options = LogOptions

    def deliver(self, payload: dict[str, Any]) -> None:
        opts: LogOptions = self.options  # type: ignore[assignment]
        logging.getLogger(opts.logger).log(logging.getLevelName(opts.level.upper()), "%s\n%s",
                                           payload["subject"], payload["text"])


ALERTER = LogAlerter
