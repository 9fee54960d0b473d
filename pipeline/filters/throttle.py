"""The throttle filter: mark events that exceed (or stay under) a count per key and period."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pipeline.event import Event
from pipeline.filters._ratelimit import WarningLimiter
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register
from pipeline.template import Template


@register
class Throttle(Filter):
    """Count events per ``key`` in time slots of ``period`` seconds (by event time) and mark the excess.

    An event is *throttled* when its count in the slot is below
    ``before_count`` or above ``after_count`` (-1 disables either bound); a
    throttled event gets the common options (usually ``add_tag =>
    "throttled"``, then ``if "throttled" in [tags] { drop {} }``). Slots are
    forgotten after ``max_age`` seconds; at most ``max_counters`` slots are
    kept (the oldest go first).
    """

    name = "throttle"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        key: str = option(doc="What to count by (sprintf), e.g. \"%{host}%{message}\".")
        before_count: int = option(-1, "Throttle events while the slot's count is below this (-1: off).")
        after_count: int = option(-1, "Throttle events once the slot's count is above this (-1: off).")
        period: str = option("60", "Length of a time slot in seconds (sprintf allowed).")
        max_age: float = option(3600.0, "Forget slots older than this many seconds (event time).")
        max_counters: int = option(100000, "Keep at most this many slots.")

        def __post_init__(self) -> None:
            if self.before_count < 0 and self.after_count < 0:
                raise ValueError("set before_count and/or after_count, otherwise nothing is throttled")
            if 0 <= self.after_count < self.before_count:
                raise ValueError("after_count must be greater than or equal to before_count")

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        self._warnings = WarningLimiter(self.logger)
        self._key = Template.compile(options.key)
        self._period = Template.compile(options.period)
        # (key, slot start) -> count, oldest first; shared by the worker threads.
        self._slots: OrderedDict[tuple[str, int], int] = OrderedDict()
        self._first_seen: dict[str, int] = {}
        self._slots_per_key: dict[str, int] = {}
        self._lock = threading.Lock()
        self._newest = 0

    def _period_seconds(self, event: Event) -> int:
        text = self._period.render(event)
        try:
            seconds = int(float(text))
        except (ValueError, OverflowError):
            seconds = 0
        if seconds < 1:
            self._warnings.warning("throttle: period %r is not a positive number of seconds, using 60", text)
            return 60
        return seconds

    def filter(self, event: Event) -> None:
        key = self._key.render(event)
        period = self._period_seconds(event)
        now = event.timestamp.millis // 1000
        o = self.options
        with self._lock:
            first = self._first_seen.setdefault(key, now)
            start = first + ((now - first) // period) * period  # slots aligned on the key's first event
            slot = (key, start)
            count = self._slots.pop(slot, 0) + 1
            if count == 1:
                self._slots_per_key[key] = self._slots_per_key.get(key, 0) + 1
            self._slots[slot] = count
            self._newest = max(self._newest, now)
            self._expire()
        throttled = (o.before_count >= 0 and count < o.before_count) or (
            o.after_count >= 0 and count > o.after_count)
        if throttled:
            self.filter_matched(event)

    def _expire(self) -> None:
        limit = self._newest - self.options.max_age
        while self._slots:
            (key, start), _ = next(iter(self._slots.items()))
            if start >= limit and len(self._slots) <= self.options.max_counters:
                break
            self._slots.popitem(last=False)
            remaining = self._slots_per_key.get(key, 1) - 1
            if remaining <= 0:  # the key's last slot: forget the key
                self._slots_per_key.pop(key, None)
                self._first_seen.pop(key, None)
            else:
                self._slots_per_key[key] = remaining
