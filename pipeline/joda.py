"""Joda-Time / java.time style date patterns (``YYYY.MM.dd``, ``dd/MMM/yyyy:HH:mm:ss Z``).

Used to *format* dates in sprintf templates (``%{+YYYY.MM.dd}``); the date
filter builds its parser on the same tokenizer. A pattern is tokenized once
into a list of (letter, width) fields and literal strings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache

MONTHS_SHORT = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTHS_LONG = ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]
DAYS_SHORT = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
DAYS_LONG = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

Token = tuple[str, int] | str  # (letter, repeat count) or literal text


@lru_cache(maxsize=1024)
def tokenize(pattern: str) -> tuple[Token, ...]:
    """Split a pattern into fields and literals; ``'text'`` quotes literals."""
    tokens: list[Token] = []
    literal: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            if end == i + 1:  # '' is a single quote
                literal.append("'")
                i += 2
                continue
            if end == -1:
                end = n
            literal.append(pattern[i + 1:end])
            i = end + 1
            continue
        if ch.isascii() and ch.isalpha():
            j = i
            while j < n and pattern[j] == ch:
                j += 1
            if literal:
                tokens.append("".join(literal))
                literal = []
            tokens.append((ch, j - i))
            i = j
            continue
        literal.append(ch)
        i += 1
    if literal:
        tokens.append("".join(literal))
    return tuple(tokens)


def _offset(dt: datetime, colon: bool) -> str:
    off = dt.utcoffset()
    if off is None:
        return "Z" if colon else "+0000"
    total = int(off.total_seconds())
    if total == 0 and colon:
        return "Z"
    sign = "-" if total < 0 else "+"
    total = abs(total)
    hh, mm = divmod(total // 60, 60)
    return f"{sign}{hh:02d}:{mm:02d}" if colon else f"{sign}{hh:02d}{mm:02d}"


def _field(letter: str, width: int, dt: datetime) -> str:
    if letter in "yYu":  # Joda's Y is year-of-era, not java.time's week-year
        year = dt.year
        return f"{year % 100:02d}" if width == 2 else f"{year:0{width}d}"
    if letter == "x":  # Joda week-year
        year = dt.isocalendar()[0]
        return f"{year % 100:02d}" if width == 2 else f"{year:0{width}d}"
    if letter == "w":
        return f"{dt.isocalendar()[1]:0{width}d}"
    if letter == "M":
        if width >= 4:
            return MONTHS_LONG[dt.month - 1]
        if width == 3:
            return MONTHS_SHORT[dt.month - 1]
        return f"{dt.month:0{width}d}"
    if letter == "d":
        return f"{dt.day:0{width}d}"
    if letter == "D":
        return f"{dt.timetuple().tm_yday:0{width}d}"
    if letter == "H":
        return f"{dt.hour:0{width}d}"
    if letter == "k":
        return f"{dt.hour or 24:0{width}d}"
    if letter == "h":
        return f"{(dt.hour % 12) or 12:0{width}d}"
    if letter == "K":
        return f"{dt.hour % 12:0{width}d}"
    if letter == "m":
        return f"{dt.minute:0{width}d}"
    if letter == "s":
        return f"{dt.second:0{width}d}"
    if letter == "S":
        micros = f"{dt.microsecond:06d}"
        return (micros + "000")[:width]
    if letter == "a":
        return "AM" if dt.hour < 12 else "PM"
    if letter == "E":
        return DAYS_LONG[dt.weekday()] if width >= 4 else DAYS_SHORT[dt.weekday()]
    if letter == "e":
        return f"{dt.isoweekday():0{width}d}"
    if letter == "Z":
        if width == 1:
            return _offset(dt, colon=False)
        if width == 2:
            return _offset(dt, colon=True)
        return dt.tzname() or "UTC"
    if letter == "X":
        return _offset(dt, colon=width >= 2 and width != 4)
    if letter == "z":
        return dt.tzname() or "UTC"
    if letter == "G":
        return "AD"
    raise ValueError(f"unsupported date pattern letter {letter!r}")


SUPPORTED_LETTERS = frozenset("yYuxwMdDHkhKmsSaEeZXzG")


def compile_formatter(pattern: str) -> Callable[[datetime], str]:
    """A function formatting a datetime with the Joda pattern; raises ValueError if unsupported."""
    tokens = tokenize(pattern)
    for token in tokens:
        if isinstance(token, tuple) and token[0] not in SUPPORTED_LETTERS:
            raise ValueError(f"unsupported date pattern letter {token[0]!r} in {pattern!r}")

    def format_datetime(dt: datetime) -> str:
        return "".join(t if isinstance(t, str) else _field(t[0], t[1], dt) for t in tokens)

    return format_datetime
