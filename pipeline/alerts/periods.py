"""Option value types for rules: ElastAlert-style periods and aggregation schedules.

``timeframe: {minutes: 5}`` (ElastAlert), ``timeframe: 5m`` and ``timeframe: 300``
(seconds) all give a :class:`Period` of 300 seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pipeline.errors import ConfigError
from pipeline.plugin import Duration

_UNIT_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1,
                 "milliseconds": 0.001}


class Period(float):
    """A period in seconds, written ``{minutes: 5}``, ``5m`` or ``300``."""

    def __new__(cls, value: Any) -> Period:
        return super().__new__(cls, _seconds(value))

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=float(self))

    def __repr__(self) -> str:
        return f"Period({float(self):g}s)"


def _seconds(value: Any) -> float:
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in _UNIT_SECONDS]
        if unknown or not value:
            raise ConfigError(f"a period is written like {{minutes: 5}} with units {', '.join(_UNIT_SECONDS)}; "
                              f"got {dict(value)!r}")
        total = 0.0
        for unit, amount in value.items():
            if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0:
                raise ConfigError(f"period unit {unit} needs a non-negative number, got {amount!r}")
            total += amount * _UNIT_SECONDS[unit]
        return total
    try:
        seconds = float(Duration.parse(value))
    except ValueError as exc:
        raise ConfigError(f"{exc} (or {{minutes: 5}})") from None
    if seconds < 0:
        raise ConfigError(f"a period cannot be negative, got {value!r}")
    return seconds


class Aggregation:
    """``aggregation: {minutes: 10}`` (collect for a period) or ``aggregation: {schedule: "*/10 * * * *"}``."""

    def __init__(self, value: Any) -> None:
        self.schedule: str | None = None
        self.period: Period | None = None
        if isinstance(value, Mapping) and "schedule" in value:
            if len(value) != 1:
                raise ConfigError("aggregation: give either schedule or a period, not both")
            self.schedule = str(value["schedule"])
            try:
                from croniter import croniter

                croniter(self.schedule)
            except (ValueError, KeyError) as exc:
                raise ConfigError(f"aggregation schedule {self.schedule!r} is not a cron expression: {exc}") \
                    from None
        else:
            self.period = Period(value)
            if not self.period:
                raise ConfigError("aggregation period must be longer than 0")

    def send_time(self, first_match: datetime) -> datetime:
        """When an aggregation opened by a match at ``first_match`` is sent."""
        if self.schedule:
            from croniter import croniter

            return croniter(self.schedule, first_match).get_next(datetime)  # type: ignore[no-any-return]
        assert self.period is not None
        return first_match + self.period.delta

    def __repr__(self) -> str:
        return f"Aggregation(schedule={self.schedule!r})" if self.schedule else f"Aggregation({self.period!r})"
