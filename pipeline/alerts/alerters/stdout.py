"""Print alerts on standard output (for trying rules and for tests)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from pipeline.alerts.alerters.base import Alerter, AlerterOptions
from pipeline.plugin import option


@dataclass(frozen=True, kw_only=True)
class StdoutOptions(AlerterOptions):
    stream: str = option("stdout", "stdout or stderr.", check=lambda v: None if v in ("stdout", "stderr")
                         else "expected stdout or stderr")


class StdoutAlerter(Alerter):
    """Write the subject and text of each alert to stdout (or stderr)."""

    name = "stdout"
    Options = StdoutOptions

    def deliver(self, payload: dict[str, Any]) -> None:
        stream = sys.stdout if self.options.stream == "stdout" else sys.stderr  # type: ignore[attr-defined]
        stream.write(f"=== {payload['subject']}\n{payload['text']}\n")
        stream.flush()


ALERTER = StdoutAlerter
