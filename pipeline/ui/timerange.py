"""Time ranges of the page (``now-15m`` … ``now``, ISO dates, epoch ms) and the histogram interval."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.localindex import QueryError, datemath

# Interval steps the histogram picks from, smallest first (ms): about 60 buckets over the range.
_STEPS = [1_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 3 * 3_600_000,
          12 * 3_600_000, 86_400_000, 7 * 86_400_000, 30 * 86_400_000]
TARGET_BUCKETS = 60


def resolve(text: str, *, round_up: bool, now: datetime) -> datetime:
    """A bound of the time picker as an aware datetime; QueryError says what was wrong."""
    value = text.strip()
    if not value:
        raise QueryError("empty time bound")
    millis = datemath.resolve(int(value) if value.isdigit() else value, round_up=round_up, now=now)
    return datetime.fromtimestamp(millis / 1000, UTC)


def time_range(start: str | None, end: str | None, now: datetime | None = None) -> tuple[datetime, datetime]:
    moment = now or datetime.now(UTC)
    lo = resolve(start or "now-15m", round_up=False, now=moment)
    hi = resolve(end or "now", round_up=True, now=moment)
    if hi <= lo:
        raise QueryError(f"the time range ends ({hi.isoformat()}) before it starts ({lo.isoformat()})")
    return lo, hi


def interval_for(start: datetime, end: datetime) -> int:
    """The bucket width in ms that gives at most about 60 buckets."""
    span = (end - start).total_seconds() * 1000
    for step in _STEPS:
        if span / step <= TARGET_BUCKETS:
            return step
    return _STEPS[-1]
