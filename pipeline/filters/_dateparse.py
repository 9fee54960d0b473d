"""Date parsing for the date filter: Joda-style patterns, ISO8601, UNIX, UNIX_MS, TAI64N.

Each format is compiled once into a parser ``parse(value, tz) -> epoch millis``
raising ``ValueError`` when the value does not fit. A Joda pattern becomes one
anchored regex (from :func:`pipeline.joda.tokenize`) plus a small assembly
step; like Joda, the whole value must match. Values without a zone are read
in ``tz``; patterns without a year get the year Logstash guesses (this year,
or the previous/next one across a December/January boundary).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline import joda
from pipeline.filters._dateminute import Fields, MinuteReuse, digit_neutral, utc_year_month
from pipeline.timestamp import Timestamp

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_CLOCK_SLOTS = {"d": 2, "H": 3, "m": 4, "s": 5}  # their places in (year, month, day, hour, minute, second)
MAX_EPOCH_SECONDS = 2**31 - 1  # Logstash rejects UNIX values beyond this

Parser = Callable[[Any, tzinfo], int]

# Month and weekday names per language, long then short (Java's forms; a short form's dot is optional).
_NAMES: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {
    "en": (joda.MONTHS_LONG, joda.MONTHS_SHORT, joda.DAYS_LONG, joda.DAYS_SHORT),
    "de": (["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
            "November", "Dezember"],
           ["Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sep.", "Okt.", "Nov.", "Dez."],
           ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
           ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."]),
    "fr": (["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
            "novembre", "décembre"],
           ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
           ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
           ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]),
    "es": (["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
            "noviembre", "diciembre"],
           ["ene.", "feb.", "mar.", "abr.", "may.", "jun.", "jul.", "ago.", "sept.", "oct.", "nov.", "dic."],
           ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
           ["lun.", "mar.", "mié.", "jue.", "vie.", "sáb.", "dom."]),
    "it": (["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
            "ottobre", "novembre", "dicembre"],
           ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"],
           ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"],
           ["lun", "mar", "mer", "gio", "ven", "sab", "dom"]),
    "pt": (["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
            "outubro", "novembro", "dezembro"],
           ["jan.", "fev.", "mar.", "abr.", "mai.", "jun.", "jul.", "ago.", "set.", "out.", "nov.", "dez."],
           ["segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo"],
           ["seg.", "ter.", "qua.", "qui.", "sex.", "sáb.", "dom."]),
    "nl": (["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
            "oktober", "november", "december"],
           ["jan.", "feb.", "mrt.", "apr.", "mei", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.", "dec."],
           ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"],
           ["ma", "di", "wo", "do", "vr", "za", "zo"]),
    "zh": ([f"{n}月" for n in ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]],
           [f"{n}月" for n in range(1, 13)],
           ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"],
           ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]),
}
LOCALES = frozenset(_NAMES)


def has_names(locale: str | None) -> bool:
    """Whether month and day names of this locale's language are known here."""
    return not locale or re.split(r"[-_.@]", locale.strip())[0].lower() in _NAMES


def language_of(locale: str | None) -> str:
    """The language of a BCP47/POSIX locale (``en-US``, ``fr_FR``); English for one without names here.

    Java (Logstash) accepts any locale string too: one it has no data for falls back to its root
    locale, whose month and day names are the English ones."""
    if not has_names(locale):
        return "en"
    return re.split(r"[-_.@]", (locale or "en").strip())[0].lower()


def short_months(locale: str | None) -> list[str]:
    """The abbreviated month names of a locale (``fr_FR`` → ``janv.`` ...); ValueError when unsupported."""
    return _NAMES[language_of(locale)][1]


def local_zone() -> tzinfo:
    """The platform's time zone (``TZ``, ``/etc/timezone``, ``/etc/localtime``), UTC when unknown."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append(Path("/etc/timezone").read_text().strip())
    except OSError:
        pass
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name:
            try:
                return UTC if name.upper() in ("UTC", "ETC/UTC", "Z") else ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return UTC


@lru_cache(maxsize=1024)  # the same few offsets and names come back on every line
def zone_by_name(name: str) -> tzinfo:
    if name.upper() in ("UTC", "Z", "ETC/UTC", "GMT", "UT"):
        return UTC
    offset = _OFFSET.fullmatch(name)
    if offset:
        return timezone(_offset_delta(offset))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)?")


def _offset_delta(match: re.Match[str]) -> timedelta:
    delta = timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0))
    return -delta if match.group(1) == "-" else delta


def _millis(year: int, month: int, day: int, hour: int, minute: int, second: int, millis: int,
            zone: tzinfo) -> int:
    if type(zone) is timezone:  # a fixed offset (UTC, +0200): plain arithmetic, no datetime
        days = date(year, month, day).toordinal() - _EPOCH_DAY  # also checks the day exists
        if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
            raise ValueError(f"time {hour:02d}:{minute:02d}:{second:02d} out of range")
        offset = zone.utcoffset(None)
        seconds = ((days * 24 + hour) * 60 + minute) * 60 + second - (offset.days * 86_400 + offset.seconds)
        return seconds * 1000 + millis
    moment = datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=zone)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


class NoMatch(ValueError):
    """A value that does not fit a format. Its message is built only when shown: with several formats,
    the first failing on most values is usual (syslog's ``MMM  d`` on a two-digit day), and formatting
    the message was a third of that failure's cost. Raised as ``NoMatch(value, template)``."""

    def __str__(self) -> str:
        value, template = self.args
        return template.format(repr(value))


def guess_year(month: int, now: datetime | None = None) -> int:
    """Logstash's year for a year-less date: this year, except across a December/January boundary."""
    now = now or datetime.now(UTC)
    if month == 12 and now.month == 1:
        return now.year - 1
    if month == 1 and now.month == 12:
        return now.year + 1
    return now.year


# ---------------------------------------------------------------------------------------------------
# Joda patterns
# ---------------------------------------------------------------------------------------------------
_NUMERIC = frozenset("yYuxwdDHkhKmsSe")


def _is_numeric(token: joda.Token) -> bool:
    """A pattern field printed as digits (``MM`` is, ``MMM`` is not)."""
    return isinstance(token, tuple) and (token[0] in _NUMERIC or (token[0] == "M" and token[1] <= 2))


def _alternation(names: list[str]) -> str:
    forms: set[str] = set()
    for name in names:
        forms.add(name)
        forms.add(name.rstrip("."))
    return "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))


def _name_index(names_long: list[str], names_short: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for names in (names_long, names_short):
        for i, name in enumerate(names):
            index[name.lower()] = i
            index[name.rstrip(".").lower()] = i
    return index


class JodaFormat:
    """One Joda pattern compiled into an anchored regex and an assembly step."""

    def __init__(self, pattern: str, locale: str | None = None, now: Callable[[], datetime] | None = None) -> None:
        self.pattern = pattern
        language = language_of(locale)
        months_long, months_short, days_long, days_short = _NAMES[language]
        self._months = _name_index(months_long, months_short)
        self._now = now
        tokens = joda.tokenize(pattern)
        parts: list[str] = []
        self._fields: list[tuple[str, str, int]] = []  # (group name, letter, width)
        seen: dict[str, int] = {}
        for index, token in enumerate(tokens):
            if isinstance(token, str):
                parts.append(_literal(token))
                continue
            letter, width = token
            group = f"{letter}{seen.get(letter, 0)}"
            seen[letter] = seen.get(letter, 0) + 1
            neighbours = (tokens[index - 1] if index else None,
                          tokens[index + 1] if index + 1 < len(tokens) else None)
            adjacent = any(_is_numeric(t) for t in neighbours if t)
            names = (months_long + months_short, days_long + days_short)
            parts.append(f"(?P<{group}>{self._field_regex(letter, width, adjacent, *names)})")
            self._fields.append((group, letter, width))
        self.has_year = any(letter in "yYux" for _, letter, _ in self._fields)
        self.has_zone = any(letter in "ZXz" for _, letter, _ in self._fields)
        self._regex = re.compile("".join(parts), re.IGNORECASE)
        # (position in match.groups(), letter, width): one groups() call instead of a lookup by name per field
        self._steps = [(self._regex.groupindex[group] - 1, letter, width) for group, letter, width in self._fields]
        self._fast = self._plan_fast_path()
        self._reuse = self._plan_minute_reuse(tokens, months_long + months_short, days_long + days_short)
        self._no_match = "{} does not match " + repr(pattern).replace("{", "{{").replace("}", "}}")

    @staticmethod
    def _field_regex(letter: str, width: int, adjacent: bool, months: list[str], days: list[str]) -> str:
        if letter in "yYux":
            if width == 2:
                return r"\d{2}"
            return rf"\d{{{width}}}" if adjacent else r"[+-]?\d{1,9}"
        if letter == "M":
            if width >= 3:
                return _alternation(months)
            return r"\d{2}" if adjacent else r"\d{1,2}"
        if letter == "S":
            return rf"\d{{{width}}}" if adjacent else r"\d{1,9}"
        if letter == "D":
            return rf"\d{{{max(width, 3)}}}" if adjacent else r"\d{1,3}"
        if letter in "dHkhKmsew":
            return rf"\d{{{max(width, 2)}}}" if adjacent else r"\d{1,2}"
        if letter == "E":
            return _alternation(days)
        if letter == "a":
            return "AM|PM|am|pm"
        if letter == "G":
            return "AD|BC|CE|BCE"
        if letter in "ZX":
            if width >= 3 and letter == "Z":
                return r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*"
            return r"Z|[+-]\d\d(?::?\d\d)?"
        if letter == "z":
            return r"UTC|GMT|UT|Z"
        raise ValueError(f"date pattern letter {letter!r} is not supported")

    def _plan_fast_path(self) -> tuple[list[tuple[int, int]], int | None, int | None, int | None] | None:
        """For patterns made of the usual fields only (y M d H m s S and a zone, each once): where each
        group goes among (year, month, day, hour, minute, second), the month-name, fraction and zone
        groups. None for the others (two-digit years, day of year, 12-hour clocks...): the general loop."""
        numbers: list[tuple[int, int]] = []
        month_name = fraction = zone_at = None
        letters = [letter for _, letter, _ in self._steps]
        if len(set(letters)) != len(letters):
            return None
        for index, letter, width in self._steps:
            if letter in "yYux" and width != 2:
                numbers.append((index, 0))
            elif letter == "M":
                if width >= 3:
                    month_name = index
                else:
                    numbers.append((index, 1))
            elif letter in _CLOCK_SLOTS:
                numbers.append((index, _CLOCK_SLOTS[letter]))
            elif letter == "S":
                fraction = index
            elif letter in "ZXz":
                zone_at = index
            else:
                return None
        return numbers, month_name, fraction, zone_at

    def _plan_minute_reuse(self, tokens: tuple[joda.Token, ...], months: list[str],
                           days: list[str]) -> MinuteReuse | None:
        """A reuse of parsed minutes (see _dateminute) for patterns with seconds (``ss``, once, a fraction
        after them at most once) and no ASCII digit in their literals or names; None for the others."""
        letters = [letter for _, letter, _ in self._fields]
        if letters.count("s") != 1 or letters.count("S") > 1 or ("S" in letters and letters.index("S") < letters.index("s")):
            return None
        texts = [token for token in tokens if isinstance(token, str)]
        texts += months if "M" in letters else []
        texts += days if "E" in letters else []
        if not digit_neutral(texts):
            return None
        groups = self._regex.groupindex
        clock_dependent = not self.has_year or any(letter in "yYux" and width == 2 for _, letter, width in self._fields)
        now = self._now
        era: Callable[[], Any] | None = None
        if clock_dependent:
            era = utc_year_month if now is None else lambda: (now().year, now().month)
        return MinuteReuse(groups["s0"], groups.get("S0"), era)

    def parse(self, value: Any, zone: tzinfo) -> int:
        reuse = self._reuse
        if reuse is None:
            return _millis(*self._date_fields(self._match(value), zone))
        if type(value) is str:
            millis = reuse.lookup(value, zone)
            if millis is not None:
                return millis
        match = self._match(value)
        era = reuse.current_era()  # after the match (a value of another format fails fast), before the fields read the clock
        fields = self._date_fields(match, zone)
        millis = _millis(*fields)
        reuse.learn(value, match, fields, millis, zone, era, _millis)
        return millis

    def _match(self, value: Any) -> re.Match[str]:
        if not isinstance(value, str):
            raise ValueError(f"expected a string for pattern {self.pattern!r}, got {value!r}")
        match = self._regex.fullmatch(value)
        if match is None:
            raise NoMatch(value, self._no_match)
        return match

    def _date_fields(self, match: re.Match[str], zone: tzinfo) -> Fields:
        """The date fields of a match of this pattern; ValueError (or KeyError) when they do not make a date."""
        if self._fast is not None:
            return self._parse_usual(match.groups(), zone, *self._fast)
        year, month, day, hour, minute, second, millis = 1970, 1, 1, 0, 0, 0, 0
        pm: bool | None = None
        day_of_year = 0
        groups = match.groups()
        for index, letter, width in self._steps:
            text = groups[index]
            if letter in "yYux":
                year = int(text)
                if width == 2:
                    year = _two_digit_year(year, self._current_year())
            elif letter == "M":
                month = int(text) if text.isdigit() else self._months[text.lower()] + 1
            elif letter == "d":
                day = int(text)
            elif letter == "D":
                day_of_year = int(text)
            elif letter in "Hk":
                hour = int(text) % 24 if letter == "k" else int(text)
            elif letter in "hK":
                hour = int(text) % 12
            elif letter == "m":
                minute = int(text)
            elif letter == "s":
                second = int(text)
            elif letter == "S":
                millis = int((text + "00")[:3])
            elif letter == "a":
                pm = text.upper() == "PM"
            elif letter in "ZXz":
                zone = zone_by_name(text)
        if pm is not None and hour < 12 and pm:
            hour += 12
        if not self.has_year:
            year = guess_year(month, self._now() if self._now else None)
        if day_of_year:
            start = datetime(year, 1, 1) + timedelta(days=day_of_year - 1)
            month, day = start.month, start.day
        return year, month, day, hour, minute, second, millis, zone

    def _parse_usual(self, groups: tuple[str, ...], zone: tzinfo, numbers: list[tuple[int, int]],
                     month_name: int | None, fraction: int | None, zone_at: int | None) -> Fields:
        parts = [1970, 1, 1, 0, 0, 0]  # year, month, day, hour, minute, second
        for index, slot in numbers:
            parts[slot] = int(groups[index])
        if month_name is not None:
            text = groups[month_name]
            parts[1] = int(text) if text.isdigit() else self._months[text.lower()] + 1
        millis = int((groups[fraction] + "00")[:3]) if fraction is not None else 0
        if zone_at is not None:
            zone = zone_by_name(groups[zone_at])
        if not self.has_year:
            parts[0] = guess_year(parts[1], self._now() if self._now else None)
        year, month, day, hour, minute, second = parts
        return year, month, day, hour, minute, second, millis, zone

    def _current_year(self) -> int:
        return (self._now() if self._now else datetime.now(UTC)).year


def _two_digit_year(value: int, current: int) -> int:
    # Joda's pivot: the 100 years around the current year.
    year = current - current % 100 + value
    if year > current + 49:
        year -= 100
    elif year <= current - 50:
        year += 100
    return year


def _literal(text: str) -> str:
    # Runs of spaces match exactly, as in Joda ("MMM  d" needs two spaces).
    return re.escape(text)


# ---------------------------------------------------------------------------------------------------
# Named formats
# ---------------------------------------------------------------------------------------------------
_ISO = re.compile(
    r"(?P<y>[+-]?\d{4})(?:-?(?P<M>\d\d)(?:-?(?P<d>\d\d))?)?"
    r"(?:[T ](?P<H>\d\d)(?::?(?P<m>\d\d)(?::?(?P<s>\d\d)(?:[.,](?P<S>\d{1,9}))?)?)?)?"
    r"\s*(?P<Z>Z|[+-]\d\d(?::?\d\d)?)?"
)


def _iso_fields(value: Any, zone: tzinfo) -> tuple[re.Match[str], Fields]:
    """The regex match of an ISO8601 value (stripped) and the date fields it gives; ValueError if none."""
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO8601 string, got {value!r}")
    match = _ISO.fullmatch(value.strip())
    if match is None:
        raise NoMatch(value, "{} is not ISO8601")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if offset:
        zone = zone_by_name(offset)  # Z is UTC, the others fixed offsets (one object per offset, cached)
    return match, (int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0),
                   int((fraction or "0").ljust(3, "0")[:3]), zone)


def parse_iso8601(value: Any, zone: tzinfo) -> int:
    """ISO8601 as Logstash reads it, plus ``yyyy-MM-dd HH:mm:ss[.,]SSS[Z]``."""
    return _millis(*_iso_fields(value, zone)[1])


class Iso8601Format:
    """``ISO8601`` with reused minutes (see _dateminute): its regex has no ASCII digit in its literals."""

    def __init__(self) -> None:
        self._reuse = MinuteReuse(_ISO.groupindex["s"], _ISO.groupindex["S"])

    def parse(self, value: Any, zone: tzinfo) -> int:
        """As :func:`parse_iso8601`. A value with blanks around it never hits a learned minute (those are
        learned stripped and end in a non-blank), so it is looked up as it is."""
        reuse = self._reuse
        if type(value) is str:
            millis = reuse.lookup(value, zone)
            if millis is not None:
                return millis
        match, fields = _iso_fields(value, zone)
        millis = _millis(*fields)
        reuse.learn(match.string, match, fields, millis, zone, None, _millis)
        return millis


_UNIX = re.compile(r"(-?\d+)(?:\.(\d*))?")


def _is_integer_text(text: str) -> bool:
    """What ``-?\\d+`` matches: an optional minus, then decimal digits (\\d and isdecimal are both category Nd)."""
    return (text[1:] if text[:1] == "-" else text).isdecimal()


def parse_unix(value: Any, zone: tzinfo) -> int:
    """Seconds since the epoch, integer or with a fraction (``1326149001.132``)."""
    if type(value) is str:  # the usual case, without the regex: the same checks as _UNIX's
        whole, _, decimals = value.strip().partition(".")
        if not (_is_integer_text(whole) and (not decimals or decimals.isdecimal())):
            raise ValueError(f"{value!r} is not a UNIX epoch time")
        seconds = int(whole)
        if seconds > MAX_EPOCH_SECONDS:
            raise ValueError(f"{value} is beyond the largest UNIX epoch second")
        fraction = decimals[:3]
        return seconds * 1000 + (-1 if whole[0] == "-" else 1) * (int(fraction.ljust(3, "0")) if fraction else 0)
    if isinstance(value, bool):
        raise ValueError("expected epoch seconds, got a boolean")
    if isinstance(value, int):
        seconds = value
        if seconds > MAX_EPOCH_SECONDS:
            raise ValueError(f"{value} is beyond the largest UNIX epoch second")
        return seconds * 1000
    if isinstance(value, float):
        if value > MAX_EPOCH_SECONDS:
            raise ValueError(f"{value} is beyond the largest UNIX epoch second")
        return int(value * 1000)
    match = _UNIX.fullmatch(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a UNIX epoch time")
    seconds = int(match.group(1))
    if seconds > MAX_EPOCH_SECONDS:
        raise ValueError(f"{value} is beyond the largest UNIX epoch second")
    fraction = (match.group(2) or "")[:3]
    sign = -1 if match.group(1).startswith("-") else 1
    return seconds * 1000 + sign * (int(fraction.ljust(3, "0")) if fraction else 0)


def parse_unix_ms(value: Any, zone: tzinfo) -> int:
    """Milliseconds since the epoch."""
    if isinstance(value, bool):
        raise ValueError("expected epoch milliseconds, got a boolean")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and _is_integer_text(value.strip()):
        return int(value)
    raise ValueError(f"{value!r} is not a UNIX epoch time in milliseconds")


_TAI64N = re.compile(r"@?([0-9a-fA-F]{16})([0-9a-fA-F]{8})")


def parse_tai64n(value: Any, zone: tzinfo) -> int:
    """TAI64N labels (``@4000000050d506482dbdf024``), with Logstash's fixed 10 s TAI offset."""
    match = _TAI64N.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a TAI64N label")
    seconds = (int(match.group(1), 16) & ((1 << 62) - 1)) - 10
    return seconds * 1000 + int(match.group(2), 16) // 1_000_000


NAMED_FORMATS: dict[str, Parser] = {
    "ISO8601": parse_iso8601, "UNIX": parse_unix, "UNIX_MS": parse_unix_ms, "TAI64N": parse_tai64n,
}


def minute_stamp(parser: Parser) -> Callable[[str, tzinfo], Timestamp | None] | None:
    """For a parser from :func:`compile_format` that reuses minutes (see _dateminute), its lookup: the
    parser's answer as a Timestamp for a string of a learned minute, None for any other (then call the
    parser); None for parsers without learned minutes. (The date filter holds the MinuteReuse itself,
    :func:`minute_reuse`, to check the last minute used inline before calling this.)"""
    reuse = minute_reuse(parser)
    return reuse.stamp if reuse is not None else None


def minute_reuse(parser: Parser) -> MinuteReuse | None:
    """The learned minutes of a parser from :func:`compile_format`, None for parsers without them."""
    reuse = getattr(getattr(parser, "__self__", None), "_reuse", None)
    return reuse if isinstance(reuse, MinuteReuse) else None


def compile_format(fmt: str, locale: str | None = None,
                   now: Callable[[], datetime] | None = None) -> tuple[Parser, bool]:
    """A parser for one ``match`` format and whether its result depends on the current year."""
    if fmt == "ISO8601":
        return Iso8601Format().parse, False  # its own learned minutes for each filter
    named = NAMED_FORMATS.get(fmt)
    if named is not None:
        return named, False
    joda_format = JodaFormat(fmt, locale, now)
    return joda_format.parse, not joda_format.has_year
