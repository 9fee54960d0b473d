""":sql_last_value and its file (``last_run_metadata_path``), in the YAML Logstash writes.

Logstash stores ``--- 42`` for a numeric tracking column and ``--- 2024-05-01 10:00:00.000000000 Z`` for a
time (a Ruby Time; ``!ruby/object:DateTime`` when jdbc_default_timezone is set). Both forms are read, so a
file left by Logstash carries over.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from pipeline.timestamp import Timestamp

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RUBY_TAG = re.compile(r"!ruby/object:(DateTime|Time)\s*")
_RUBY_BIGDECIMAL = re.compile(r"!ruby/object:BigDecimal\s+\d+:(\S+)")


class LastRun:
    """The current :sql_last_value: numeric (a tracking column of numbers) or a UTC datetime."""

    def __init__(self, path: Path | None, numeric: bool, clean: bool) -> None:
        self.path = path
        self.numeric = numeric
        if clean and path is not None and path.exists():
            path.unlink()
        persisted = self._read()
        self.value: Any = persisted if persisted is not None else (0 if numeric else EPOCH)

    def _read(self) -> Any:
        if self.path is None or not self.path.exists():
            return None
        text = self.path.read_text(encoding="utf-8")
        text = _RUBY_BIGDECIMAL.sub(r"\1", _RUBY_TAG.sub("", text))
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            return None
        if self.numeric:
            return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        return as_datetime(value)

    def set(self, value: Any) -> None:
        """Takes a new value (a row's tracking column, or the run's start time); ignores what does not fit."""
        if self.numeric:
            if isinstance(value, Decimal):
                value = int(value) if value == value.to_integral_value() else float(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.value = value
            return
        parsed = as_datetime(value)
        if parsed is not None:
            self.value = parsed

    def write(self) -> None:
        """Atomically (temp file + rename), so a crash never leaves an empty file behind."""
        if self.path is None:
            return
        if self.numeric:
            text = f"--- {self.value}\n"
        else:
            stamp = self.value.astimezone(UTC)
            text = f"--- {stamp:%Y-%m-%d %H:%M:%S}.{stamp.microsecond:06d}000 Z\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.tmp.{os.getpid()}")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)


def as_datetime(value: Any, zone: Any = UTC) -> datetime | None:
    """A datetime (naive ones are in ``zone``), date, or date text as an aware datetime; None otherwise."""
    if isinstance(value, Timestamp):
        return value.to_datetime()
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=zone)
    if isinstance(value, str):
        text = value.strip().replace(" Z", "Z")
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Python reads at most microseconds
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
    return None
