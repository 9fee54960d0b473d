"""The date filter: parse a date field into ``@timestamp`` (or another target)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from pipeline import fieldref
from pipeline.errors import ConfigError
from pipeline.event import TIMESTAMP, Event
from pipeline.filters import _dateparse
from pipeline.filters._dateminute import SECOND_DIGITS, LastMinute, fraction_millis
from pipeline.filters._ratelimit import WarningLimiter
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import option, register
from pipeline.template import Template
from pipeline.timestamp import MILLIS_TEXT, SECOND_TEXT, Timestamp, of_millis

_CACHE_SIZE = 20_000  # distinct date strings kept; log timestamps repeat a lot
_YEARLESS_CACHE_SECONDS = 60.0  # a guessed year can change at midnight on new year's eve
_NO_MINUTE: LastMinute = (-1, "", "", "", 0, 0, 0, -1, -1, None, None, 0, None)  # no string has length -1


def _match_check(value: list[str]) -> str | None:
    if len(value) < 2:
        return 'expects a field then one or more formats, like ["timestamp", "dd/MMM/yyyy:HH:mm:ss Z"]'
    return None


@register
class Date(Filter):
    """Parse dates from a field and use them as the event's ``@timestamp``.

    ``match => ["field", "format", ...]`` tries each format in order: a Joda
    pattern (``dd/MMM/yyyy:HH:mm:ss Z``, ``yyyy-MM-dd HH:mm:ss,SSS``,
    ``MMM  d HH:mm:ss``) or one of ``ISO8601``, ``UNIX``, ``UNIX_MS``,
    ``TAI64N``. Values without a zone are read in ``timezone`` (else the
    platform's zone); patterns without a year get the current year (the
    previous one for December events seen in January). When no format fits,
    the event is tagged ``_dateparsefailure`` and keeps its timestamp.
    """

    name = "date"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        match: list[str] = option(
            [], "The field, then one or more formats: Joda patterns or ISO8601, UNIX, UNIX_MS, TAI64N.",
            check=_match_check)
        target: str = option("@timestamp", "Where the parsed date goes.")
        timezone: str | None = option(
            None, "IANA zone (e.g. Asia/Shanghai) for dates without an offset; may be sprintf (%{tz}). "
                  "Default: the platform's zone.")
        locale: str | None = option(
            None, "Language of month and day names (en, de, fr, es, it, pt, nl, zh; en-US and fr_FR forms "
                  "accepted). Default en.")
        tag_on_failure: list[str] = option(["_dateparsefailure"], "Tags added when no format matches.")

        def __post_init__(self) -> None:
            if not self.match:
                raise ValueError('option "match" is required, like ["timestamp", "ISO8601"]')

    def __init__(self, options: Any, context: Any = None) -> None:
        super().__init__(options, context)
        field, *formats = options.match
        self._source = fieldref.parse(field)
        self._source_key = field if self._source.path == (field,) else None  # fast path for top-level fields
        self._target = fieldref.parse(options.target)
        self._to_timestamp = self._target.path == (TIMESTAMP,)
        try:
            if not _dateparse.has_names(options.locale):
                self.logger.warning('date filter: no month or day names for locale "%s" here; English names are '
                                    "used (Java, too, falls back to its root locale)", options.locale)
            compiled = [_dateparse.compile_format(fmt, options.locale) for fmt in formats]
        except ValueError as exc:
            raise ConfigError(f'option "match": {exc}') from None
        self._parsers: list[Callable[[Any, tzinfo], int]] = [parser for parser, _ in compiled]
        self._minute_reuse = _dateparse.minute_reuse(self._parsers[0])  # the first format's learned minutes
        self._year_dependent = any(yearless for _, yearless in compiled)
        self._zone_template: Template | None = None
        self._zone: tzinfo = _dateparse.local_zone()
        if options.timezone:
            template = Template.compile(options.timezone)
            if template.is_constant:
                try:
                    self._zone = _dateparse.zone_by_name(options.timezone)
                except ValueError as exc:
                    raise ConfigError(f'option "timezone": {exc} (expected an IANA name like Asia/Shanghai)') from None
            else:
                self._zone_template = template
        self._cache: dict[Any, Timestamp] = {}
        self._cache_expires = time.monotonic() + _YEARLESS_CACHE_SECONDS
        self._failure_tags = tuple(options.tag_on_failure)
        self._decorates = bool(options.add_field or options.remove_field or options.add_tag or options.remove_tag)
        self._warnings = WarningLimiter(self.logger)

    def filter_batch(self, events: list[Event]) -> list[Event]:
        """The runtime's entry: a whole batch per call. A date string (or epoch number) seen before into
        @timestamp (the usual case: lines of one second share it) is one dict lookup here, a new one that
        parses is one call to the parsers; anything else (other types, failures, errors) goes to filter()
        for its tags and logs."""
        key = self._source_key
        if key is None or not self._to_timestamp or self._zone_template is not None or self._decorates:
            for event in events:
                self.filter_guarded(event)
            return events
        if self._year_dependent and time.monotonic() > self._cache_expires:
            self._expire_cache()  # once a batch: its guessed years are as fresh as one event's
        cache, filter_guarded, first_fit = self._cache, self.filter_guarded, self._first_fit
        reuse, zone = self._minute_reuse, self._zone
        # The minute used last (logs in time order: most new strings are new seconds of it), checked here
        # as MinuteReuse.last_minute says: a call per string would cost as much as the check.
        seen = reuse.last if reuse is not None else None  # what last_minute() below was made from
        length, head, middle, tail, tail_at, start, end, fraction_at, fraction_end, era, era_now, minute, text = (
            reuse.last_minute(zone) if reuse is not None else None) or _NO_MINUTE
        for event in events:
            data = event.data
            value: Any = data.get(key)
            kind = type(value)
            if kind is not str and kind is not int and kind is not float:  # bool, None, lists, dicts: filter()
                filter_guarded(event)
                continue
            stamp = cache.get(value)
            if stamp is None:
                if (kind is str and len(value) == length and value[:start] == head and value[tail_at:] == tail
                        and (era_now is None or era_now() == era)):
                    seconds = SECOND_DIGITS.get(value[start:end])
                    millis = 0 if fraction_at < 0 else (
                        fraction_millis(value[fraction_at:fraction_end]) if value[end:fraction_at] == middle
                        else None)
                    if seconds is not None and millis is not None:
                        stamp = of_millis(minute + seconds * 1000 + millis, None if text is None else
                                          f"{text}{SECOND_TEXT[seconds]}{MILLIS_TEXT[millis]}")
                if stamp is None:
                    # Another minute seen before (what the first format would give), else a full parse.
                    stamp = reuse.stamp(value, zone) if reuse is not None and kind is str else None
                    if stamp is None:
                        try:
                            stamp = first_fit(value, zone, None)
                        except Exception:  # noqa: BLE001 - filter() below meets it again and tags the event
                            stamp = None
                        if stamp is None:
                            filter_guarded(event)
                            continue
                    if reuse is not None and reuse.last is not seen:  # either made another minute the last used
                        seen = reuse.last
                        (length, head, middle, tail, tail_at, start, end, fraction_at, fraction_end, era, era_now,
                         minute, text) = reuse.last_minute(zone) or _NO_MINUTE
                if len(cache) >= _CACHE_SIZE:  # _remember's rule, inline: most strings of ordered logs come here
                    cache.clear()
                cache[value] = stamp
            data[TIMESTAMP] = stamp
        return events

    def _first_fit(self, value: Any, zone: tzinfo, key: Any) -> Timestamp | None:
        """``value`` in ``zone`` by the first format that fits, remembered under ``key`` (None: not cached);
        None when no format fits."""
        for parser in self._parsers:
            try:
                millis = parser(value, zone)
            except (ValueError, OverflowError, KeyError):
                continue
            # Shared Timestamp objects: immutable in practice, and their ISO string is computed once.
            stamp = Timestamp(millis)
            if key is not None:
                self._remember(key, stamp)
            return stamp
        return None

    def _remember(self, key: Any, stamp: Timestamp) -> None:
        cache = self._cache
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[key] = stamp

    def _expire_cache(self) -> None:
        self._cache.clear()
        self._cache_expires = time.monotonic() + _YEARLESS_CACHE_SECONDS

    def filter(self, event: Event) -> None:
        data = event.data
        value = data.get(self._source_key) if self._source_key is not None else self._source.get(data)
        if value is None:
            return
        if self._zone_template is None and type(value) is str:
            stamp = self._cache.get(value)  # the fast path: a date string seen before
            if stamp is not None and not self._year_dependent:
                if self._to_timestamp:
                    data[TIMESTAMP] = stamp
                else:
                    self._target.set(data, stamp)
                if self._decorates:
                    self.filter_matched(event)
                return
        if isinstance(value, list):
            stamps = [self._parse(v, event) for v in value]
            stamp = next((s for s in reversed(stamps) if s is not None), None)
            failed = any(s is None for s in stamps) or not stamps
        else:
            stamp = self._parse(value, event)
            failed = stamp is None
        if stamp is not None:
            if self._to_timestamp:
                data[TIMESTAMP] = stamp
            else:
                self._target.set(data, stamp)
        if failed:
            event.tag(*self._failure_tags)
            return
        if self._decorates:
            self.filter_matched(event)

    def _parse(self, value: Any, event: Event) -> Timestamp | None:
        if isinstance(value, (dict, list)):
            return None
        if self._zone_template is None:
            key = value
            zone = self._zone
        else:
            zone_name = self._zone_template.render(event)
            key = (value, zone_name)
            try:
                zone = _dateparse.zone_by_name(zone_name)
            except ValueError:
                self._warnings.warning("date: unknown timezone %r from %s", zone_name, self._zone_template.text)
                return None
        cache = self._cache
        if self._year_dependent and time.monotonic() > self._cache_expires:
            self._expire_cache()
        try:
            stamp = cache.get(key)
        except TypeError:  # unhashable: never cached
            stamp, key = None, None
        if stamp is not None:
            return stamp
        stamp = self._first_fit(value, zone, key)
        if stamp is None:
            self.logger.debug("date: %r matches none of the formats %s", value, self.options.match[1:])
        return stamp
