"""Elasticsearch date math: ``now-5m``, ``now/d``, ``2026-11-21||+1M/M``, ISO dates, epoch millis.

Rounding follows Elasticsearch's range semantics: with ``round_up`` (used for
``gt`` and ``lte``) ``/d`` goes to the last millisecond of the day, otherwise
to its first.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from pipeline.localindex.query import QueryError
from pipeline.timestamp import Timestamp

_STEP = re.compile(r"([+-])(\d+)([yMwdhHms])|/([yMwdhHms])")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def to_millis(value: datetime) -> int:
    return Timestamp.from_datetime(value).millis


def looks_like_date(value: Any) -> bool:
    """True for date math and ISO dates (``now``, ``2026-11-21``, ``2026-11-21T10:00:00Z``)."""
    if isinstance(value, datetime):
        return True
    if not isinstance(value, str):
        return False
    text = value.strip()
    return text.startswith("now") or "||" in text or bool(re.match(r"^\d{4}-\d{2}-\d{2}", text))


def _parse_anchor(text: str, tz: tzinfo) -> datetime:
    if text == "now":
        return datetime.now(UTC)
    if _DATE_ONLY.match(text):
        parts = [int(p) for p in text.split("-")] + [1]
        return datetime(parts[0], parts[1], parts[2], tzinfo=tz)
    if re.fullmatch(r"-?\d+", text):
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        stamp = Timestamp.parse(text.replace(" ", "T", 1))
    except ValueError:
        raise QueryError(f"invalid date {text!r}: expected date math like now-5m or an ISO8601 date") from None
    if not re.search(r"(Z|z|[+-]\d{2}:?\d{2})$", text) and tz is not UTC:
        # A date without an offset is in the query's time_zone.
        naive = datetime.fromisoformat(stamp.to_datetime().replace(tzinfo=None).isoformat())
        return naive.replace(tzinfo=tz)
    return stamp.to_datetime()


def _add(moment: datetime, sign: int, amount: int, unit: str) -> datetime:
    amount *= sign
    if unit in ("y", "M"):
        months = moment.month - 1 + amount * (12 if unit == "y" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        day = min(moment.day, _days_in_month(year, month))
        return moment.replace(year=year, month=month, day=day)
    seconds = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
    return moment + timedelta(seconds=seconds * amount)


def _days_in_month(year: int, month: int) -> int:
    nxt = datetime(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _round(moment: datetime, unit: str, up: bool) -> datetime:
    if unit == "y":
        start = moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "M":
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "w":
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - timedelta(days=day.weekday())  # weeks start on Monday, as in Elasticsearch
    elif unit == "d":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit in ("h", "H"):
        start = moment.replace(minute=0, second=0, microsecond=0)
    elif unit == "m":
        start = moment.replace(second=0, microsecond=0)
    else:
        start = moment.replace(microsecond=0)
    if not up:
        return start
    return _add(start, 1, 1, unit) - timedelta(milliseconds=1)


def resolve(value: Any, *, round_up: bool = False, now: datetime | None = None,
            tz: str | tzinfo | None = None) -> int:
    """Epoch milliseconds for a range bound (number = epoch millis, string = date/date math)."""
    if isinstance(value, bool):
        raise QueryError(f"invalid date {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, datetime):
        return to_millis(value)
    if not isinstance(value, str):
        raise QueryError(f"invalid date {value!r}: expected a string or epoch milliseconds")
    zone = _zone(tz)
    text = value.strip()
    if "||" in text:
        anchor_text, math = text.split("||", 1)
    elif text.startswith("now"):
        anchor_text, math = "now", text[3:]
    else:
        anchor_text, math = text, ""
    moment = (now or datetime.now(UTC)) if anchor_text == "now" else _parse_anchor(anchor_text, zone)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(zone)
    pos = 0
    for step in _STEP.finditer(math):
        if step.start() != pos:
            break
        if step.group(4):
            moment = _round(moment, step.group(4), round_up)
        else:
            moment = _add(moment, 1 if step.group(1) == "+" else -1, int(step.group(2)), step.group(3))
        pos = step.end()
    if pos != len(math):
        raise QueryError(f"invalid date math {value!r}: expected steps like -5m, +1d, /d "
                         "(units y M w d h m s)")
    return to_millis(moment)


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return UTC
    if isinstance(tz, tzinfo):
        return tz
    from pipeline.errors import TemplateError
    from pipeline.template import load_timezone

    text = tz.strip()
    offset = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text)
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3))))
    try:
        return load_timezone(text)
    except TemplateError as exc:
        raise QueryError(f"unknown time_zone {tz!r}") from exc


def parse_interval(value: timedelta | str | int | float) -> int:
    """A fixed interval in milliseconds: ``timedelta``, seconds, or ``500ms``/``30s``/``5m``/``1h``/``1d``/``1w``."""
    if isinstance(value, timedelta):
        millis = int(value.total_seconds() * 1000)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        millis = int(value * 1000)
    else:
        match = re.fullmatch(r"\s*(\d+)\s*(ms|s|m|h|d|w)\s*", str(value))
        if not match:
            raise QueryError(f"invalid interval {value!r}: expected a fixed interval like 30s, 5m, 1h, 1d")
        unit = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
        millis = int(match.group(1)) * unit[match.group(2)]
    if millis <= 0:
        raise QueryError(f"invalid interval {value!r}: must be positive")
    return millis
