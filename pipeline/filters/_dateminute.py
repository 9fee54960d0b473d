"""Reuse of a parsed minute: a new date string that differs from a parsed one only in its seconds and
fraction costs a slice, a dict lookup and an addition instead of a regex match and a date computation.

Logs in time order give every line its own second (the date filter's string cache never hits), but
dozens of lines share a minute. After a full parse of, say, ``17/May/2015:10:05:03 +0000`` this
remembers the string's *layout* (its length and where the seconds and the fraction sit) and, for the
rest of the string (``17/May/2015:10:05:`` and `` +0000``), the epoch millis at second 0. A later string
of the same length whose characters outside those spans are the same, and whose spans hold ASCII
digits only, is answered as that minute's millis + its seconds × 1000 + its fraction.

Why that is the full parse's answer, not an approximation:

* The formats using this (:func:`digit_neutral` checks it when they are compiled) have no ASCII digit
  in their literals or names, so each of their regex atoms accepts either every ASCII digit or none:
  putting other digits in the digit spans leaves the regex's match (every group's span) unchanged, and
  every other field reads the same characters.
* Seconds and fraction add linearly as long as the zone's offset is the same over the whole minute:
  always for a fixed offset; for a named zone (DST) the minute is learned only when its second 0 and
  second 59 give offsets that agree with each other and with the parsed string (zones never change
  offset twice within a minute).
* Seconds above 59 (a leap second, ``60``) are left to the full parse, which rejects them as today.
* A year-less or two-digit-year format depends on the current year and month (``era``): a learned
  minute is only used in the era it was learned in.

The last minute used is also kept as its text around the digit spans (head, middle, tail): the next
string of that minute (the usual case in time order) is recognized by its length, ``startswith`` and
``endswith``, without slicing or joining the string for the dict lookup. Same checks, same answer. The
date filter's batch loop makes that check itself, inline (:meth:`MinuteReuse.last_minute`), and gives
such a string's Timestamp its ISO text from the minute's text and the string's digits.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timezone, tzinfo

from pipeline.timestamp import Timestamp, minute_text, of_millis

# (year, month, day, hour, minute, second, millis, zone): what a format's regex match assembles into
Fields = tuple[int, int, int, int, int, int, int, tzinfo]
Millis = Callable[[int, int, int, int, int, int, int, tzinfo], int]

_MAX_MINUTES = 4096  # per layout: almost three days of minutes; dropped all at once when full
_MAX_LAYOUTS = 16  # per zone: string lengths (a one- or two-digit day, fractions of several widths)
_MAX_ZONES = 64  # the zones a %{zone} option can bring
_MAX_LEARNED = 8192  # minutes in all (a few MB at most), whatever the zones and layouts: then start afresh
_ASCII_DIGIT = re.compile(r"[0-9]")


def digit_neutral(texts: list[str]) -> bool:
    """Whether a format's literals and names are free of ASCII digits (so this reuse is exact)."""
    return not any(_ASCII_DIGIT.search(text) for text in texts)


_era_until = 0.0  # time.time() before which _era_now holds
_era_now: tuple[int, int] = (0, 0)


def utc_year_month() -> tuple[int, int]:
    """The current UTC (year, month), which is all that year guessing reads of the clock; one
    ``time.time()`` call until the month ends."""
    global _era_until, _era_now
    now = time.time()
    if now >= _era_until:
        moment = datetime.fromtimestamp(now, UTC)
        era = (moment.year, moment.month)
        following = datetime(era[0] + era[1] // 12, era[1] % 12 + 1, 1, tzinfo=UTC)
        _era_now, _era_until = era, following.timestamp()
        return era
    return _era_now


# A layout: (seconds start, seconds end, fraction start, fraction end (-1, -1 without one), era, minutes), minutes
# mapping the string without its seconds and fraction to the epoch millis at second 0.
Layout = tuple[int, int, int, int, Hashable, dict[str, int]]

# Seconds and fractions as the full parse reads them, ASCII digits only: one dict lookup checks and converts.
_SECONDS = {f"{n:02d}": n for n in range(60)} | {str(n): n for n in range(10)}
_FRACTION_MILLIS = {text: int((text + "00")[:3]) for width in (1, 2, 3)
                    for text in (f"{n:0{width}d}" for n in range(10 ** width))}


# The last minute used: (length, head, middle, tail, the layout's four span ends, era, epoch millis at second
# 0, zone, ISO text of that UTC minute or None); head/middle/tail: the text before the seconds, between
# seconds and fraction, after both.
_Last = tuple[int, str, str, str, int, int, int, int, Hashable, int, tzinfo, str | None]
#: MinuteReuse.last_minute: (length, head, middle, tail, tail_at, start, end, fraction_at, fraction_end, era,
#: era_now, minute, text); tail_at: where the tail starts (after the fraction, else after the seconds);
#: era_now: the clock's reading to compare with era, None when the answer does not depend on it
LastMinute = tuple[int, str, str, str, int, int, int, int, int, Hashable, Callable[[], Hashable] | None, int,
                   str | None]
SECOND_DIGITS = _SECONDS  # for last_minute's users


def _fraction_millis(text: str) -> int | None:
    """The millis of a fraction's digits as the full parse reads them (beyond the third: ignored), None
    unless ASCII digits."""
    if len(text) <= 3:
        return _FRACTION_MILLIS.get(text)
    return _FRACTION_MILLIS[text[:3]] if text.isascii() and text.isdigit() else None


fraction_millis = _fraction_millis  # for last_minute's users


def _last_of(value: str, layout: Layout, base: int, zone: tzinfo) -> _Last:
    seconds_start, seconds_end, fraction_start, fraction_end, era = layout[:5]
    if fraction_start < 0:
        middle, tail = "", value[seconds_end:]
    else:
        middle, tail = value[seconds_end:fraction_start], value[fraction_end:]
    text = None
    if base % 60_000 == 0:  # the minute starts a UTC minute (offsets of whole minutes): its ISO text, once
        try:
            text = minute_text(base // 60_000)
        except (OverflowError, OSError, ValueError):  # beyond what gmtime formats: Timestamp.iso() decides later
            text = None
    return (len(value), value[:seconds_start], middle, tail, seconds_start, seconds_end, fraction_start,
            fraction_end, era, base, zone, text)


def _key(value: str, layout: Layout) -> str:
    seconds_start, seconds_end, fraction_start, fraction_end = layout[:4]
    if fraction_start < 0:
        return value[:seconds_start] + value[seconds_end:]
    return value[:seconds_start] + value[seconds_end:fraction_start] + value[fraction_end:]


class MinuteReuse:
    """One format's learned minutes, per zone it is parsed in (the zone given for values without one)."""

    __slots__ = ("_seconds_group", "_fraction_group", "_era", "_zones", "_learned", "last")

    def __init__(self, seconds_group: int, fraction_group: int | None,
                 era: Callable[[], Hashable] | None = None) -> None:
        """``seconds_group``/``fraction_group``: their numbers in the format's regex; ``era``: for a format
        whose result depends on the clock, what of the clock it reads (None: it does not)."""
        self._seconds_group = seconds_group
        self._fraction_group = fraction_group
        self._era = era
        self._zones: dict[tzinfo, dict[int, Layout]] = {}  # zone → string length → layout
        self._learned = 0  # minutes added since the last fresh start (approximate across threads: a bound only)
        self.last: _Last | None = None  # the minute used last: one tuple, replaced whole (thread-safe reads); read-only outside

    def current_era(self) -> Hashable:
        """The clock's state the next parse will use (None for a format that does not read the clock)."""
        return self._era() if self._era is not None else None

    def stamp(self, value: str, zone: tzinfo) -> Timestamp | None:
        """:meth:`lookup`'s answer as a Timestamp (the date filter's batch loop checks the last minute used
        itself first, see :meth:`last_minute`)."""
        found = self.lookup(value, zone)
        return None if found is None else of_millis(found)

    def last_minute(self, zone: tzinfo) -> LastMinute | None:
        """The last minute used, for a loop that checks many strings against it inline (the date filter's
        batch: a method call per string costs as much as the check). None when it was used in another
        zone. A string ``value`` is of that minute exactly when (the same conditions as :meth:`lookup`'s
        shortcut, written for slices)::

            len(value) == length and value[:start] == head and value[tail_at:] == tail
            and (era_now is None or era_now() == era) and value[start:end] is in SECOND_DIGITS
            and, with a fraction (fraction_at >= 0), value[end:fraction_at] == middle and
            fraction_millis(value[fraction_at:fraction_end]) is not None

        its millis then ``minute + seconds * 1000 + fraction``, and its ISO text, when ``text`` is not None,
        ``text + SECOND_TEXT[seconds] + MILLIS_TEXT[fraction]``."""
        last = self.last
        if last is None or last[10] is not zone:
            return None
        length, head, middle, tail, start, end, fraction_at, fraction_end, era, minute, _, text = last
        era_now = self._era if era is not None else None
        return (length, head, middle, tail, end if fraction_at < 0 else fraction_end, start, end, fraction_at,
                fraction_end, era, era_now, minute, text)

    def lookup(self, value: str, zone: tzinfo) -> int | None:
        """The epoch millis of ``value`` when its minute was learned, else None (then parse it fully)."""
        last = self.last
        if last is not None:
            length, head, middle, tail, start, end, fraction_at, fraction_end, last_era, minute, last_zone, _ = last
            # equal outside the spans: the same length, head and tail (and middle, between seconds and fraction)
            if (len(value) == length and last_zone is zone and value.startswith(head) and value.endswith(tail)
                    and (last_era is None or self._era is None or self._era() == last_era)):
                seconds = _SECONDS.get(value[start:end])
                if seconds is not None:
                    if fraction_at < 0:
                        return minute + seconds * 1000
                    millis = _fraction_millis(value[fraction_at:fraction_end])
                    if millis is not None and value.startswith(middle, end):
                        return minute + seconds * 1000 + millis
        layouts = self._zones.get(zone)
        if layouts is None:
            return None
        layout = layouts.get(len(value))
        if layout is None:
            return None
        seconds_start, seconds_end, fraction_start, fraction_end, era, minutes = layout
        second = _SECONDS.get(value[seconds_start:seconds_end])
        if second is None:
            return None
        if fraction_start < 0:
            base = minutes.get(value[:seconds_start] + value[seconds_end:])
            fraction: int | None = 0
        else:
            fraction = _fraction_millis(value[fraction_start:fraction_end])
            base = minutes.get(value[:seconds_start] + value[seconds_end:fraction_start] + value[fraction_end:])
        if base is None or fraction is None or (era is not None and self._era is not None and self._era() != era):
            return None
        self.last = _last_of(value, layout, base, zone)
        return base + second * 1000 + fraction

    def learn(self, value: str, match: re.Match[str], fields: Fields, millis: int, zone: tzinfo,
              era: Hashable, to_millis: Millis) -> None:
        """Remember the minute of ``value``, just parsed fully (``match`` → ``fields`` → ``millis``) in ``zone``
        with the clock in ``era``; ``to_millis`` is the format's date computation."""
        seconds_start, seconds_end = match.span(self._seconds_group)
        if seconds_start < 0 or match.start() != 0:
            return
        fraction_start, fraction_end = (match.span(self._fraction_group) if self._fraction_group is not None
                                        else (-1, -1))
        if 0 <= fraction_start < seconds_end:
            return  # a fraction before the seconds: not a layout this handles
        year, month, day, hour, minute, second, fraction, real_zone = fields
        if type(real_zone) is timezone:  # a fixed offset: seconds and millis add linearly
            base = millis - second * 1000 - fraction
        else:  # a named zone: only a minute without an offset change
            base = to_millis(year, month, day, hour, minute, 0, 0, real_zone)
            if (to_millis(year, month, day, hour, minute, 59, 0, real_zone) - base != 59_000
                    or base + second * 1000 + fraction != millis):
                return
        if era != self.current_era():
            return  # the clock moved on during the parse: learn nothing from it
        self._learned += 1
        if self._learned > _MAX_LEARNED:
            self._zones, self._learned = {}, 0  # a new dict: lookups in flight keep the old one
        layouts = self._zones.get(zone)
        if layouts is None:
            if len(self._zones) >= _MAX_ZONES:
                self._zones.clear()
            layouts = self._zones[zone] = {}
        layout = layouts.get(len(value))
        if (layout is None or layout[:5] != (seconds_start, seconds_end, fraction_start, fraction_end, era)
                or len(layout[5]) >= _MAX_MINUTES):
            if len(layouts) >= _MAX_LAYOUTS:
                layouts.clear()
            # a new tuple and dict: a lookup in flight in another thread keeps the old, consistent one
            layout = layouts[len(value)] = (seconds_start, seconds_end, fraction_start, fraction_end, era, {})
        layout[5][_key(value, layout)] = base
        self.last = _last_of(value, layout, base, zone)
