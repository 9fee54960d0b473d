"""date: Joda patterns, named formats, time zones, locales, year guessing and the failure tag."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.filters import _dateparse
from pipeline.testing import build_plugin, run_filters
from pipeline.timestamp import Timestamp


def parse(config: str, value: Any) -> Event:
    [event] = run_filters(f"date {{ {config} }}", [{"t": value}])
    return event


@pytest.mark.parametrize(("fmt", "value", "expected"), [
    ("dd/MMM/yyyy:HH:mm:ss Z", "10/Oct/2000:13:55:36 -0700", "2000-10-10T20:55:36.000Z"),
    ("dd/MMM/yyyy:HH:mm:ss Z", "17/May/2015:10:05:03 +0000", "2015-05-17T10:05:03.000Z"),
    ("yyyy-MM-dd HH:mm:ss,SSS", "2024-03-01 10:00:00,123", "2024-03-01T10:00:00.123Z"),
    ("yyyy-MM-dd HH:mm:ss.SSSSSS", "2024-03-01 10:00:00.123456", "2024-03-01T10:00:00.123Z"),
    ("MMM dd yyyy HH:mm:ss", "Nov 01 2020 10:00:00", "2020-11-01T10:00:00.000Z"),
    ("yyyyMMddHHmmss", "20201101100000", "2020-11-01T10:00:00.000Z"),
    ("EEE MMM dd HH:mm:ss ZZZ yyyy", "Mon Nov 02 10:00:00 America/New_York 2020", "2020-11-02T15:00:00.000Z"),
    ("dd/MM/yy hh:mm a", "02/11/20 10:30 PM", "2020-11-02T22:30:00.000Z"),
    ("yyyy-MM-dd'T'HH:mm:ssZZ", "2020-11-02T10:00:00+02:00", "2020-11-02T08:00:00.000Z"),
    ("ISO8601", "2011-04-19T03:44:01.103Z", "2011-04-19T03:44:01.103Z"),
    ("ISO8601", "2011-04-19T03:44:01+0200", "2011-04-19T01:44:01.000Z"),
    ("ISO8601", "2011-04-19 03:44:01,5", "2011-04-19T03:44:01.500Z"),
    ("ISO8601", "2011-04-19", "2011-04-19T00:00:00.000Z"),
    ("UNIX", "1326149001.132", "2012-01-09T22:43:21.132Z"),
    ("UNIX", 1326149001, "2012-01-09T22:43:21.000Z"),
    ("UNIX", 1326149001.5, "2012-01-09T22:43:21.500Z"),
    ("UNIX_MS", "1326149001132", "2012-01-09T22:43:21.132Z"),
    ("UNIX_MS", 1326149001132, "2012-01-09T22:43:21.132Z"),
    ("TAI64N", "@4000000050d506482dbdf024", "2012-12-22T01:00:46.767Z"),
])
def test_formats(fmt: str, value: Any, expected: str) -> None:
    event = parse(f'match => ["t", "{fmt}"] timezone => "UTC"', value)
    assert event.timestamp.iso() == expected
    assert "_dateparsefailure" not in event.tags


def test_timezone_for_values_without_offset() -> None:
    event = parse('match => ["t", "yyyy-MM-dd HH:mm:ss"] timezone => "Asia/Shanghai"', "2024-03-01 10:00:00")
    assert event.timestamp.iso() == "2024-03-01T02:00:00.000Z"
    # an offset in the value wins over the timezone option
    event = parse('match => ["t", "ISO8601"] timezone => "Asia/Shanghai"', "2024-03-01T10:00:00Z")
    assert event.timestamp.iso() == "2024-03-01T10:00:00.000Z"


def test_timezone_handles_daylight_saving() -> None:
    summer = parse('match => ["t", "yyyy-MM-dd HH:mm"] timezone => "Europe/Paris"', "2024-07-01 12:00")
    winter = parse('match => ["t", "yyyy-MM-dd HH:mm"] timezone => "Europe/Paris"', "2024-01-01 12:00")
    assert summer.timestamp.iso() == "2024-07-01T10:00:00.000Z"
    assert winter.timestamp.iso() == "2024-01-01T11:00:00.000Z"


def test_timezone_from_the_event() -> None:
    [event] = run_filters('date { match => ["t", "yyyy-MM-dd HH:mm"] timezone => "%{tz}" }',
                          [{"t": "2024-01-01 12:00", "tz": "Asia/Tokyo"}])
    assert event.timestamp.iso() == "2024-01-01T03:00:00.000Z"
    [bad] = run_filters('date { match => ["t", "yyyy-MM-dd HH:mm"] timezone => "%{tz}" }',
                        [{"t": "2024-01-01 12:00", "tz": "Mars/Olympus"}])
    assert "_dateparsefailure" in bad.tags


def test_formats_tried_in_order_and_target() -> None:
    [event] = run_filters('date { match => ["t", "dd/MM/yyyy", "ISO8601"] target => "[event][created]" '
                          'timezone => "UTC" add_tag => ["dated"] }', [{"t": "2020-01-02T03:04:05Z"}])
    assert event.get("[event][created]") == Timestamp.parse("2020-01-02T03:04:05Z")
    assert event.has_tag("dated")


def test_failure_tags_and_keeps_timestamp() -> None:
    before = Timestamp.parse("2001-01-01T00:00:00Z")
    [event] = run_filters('date { match => ["t", "ISO8601"] add_tag => ["dated"] }',
                          [{"t": "not a date", "@timestamp": before}])
    assert event.tags == ["_dateparsefailure"] and event.timestamp == before
    [custom] = run_filters('date { match => ["t", "UNIX"] tag_on_failure => ["bad", "date"] }', [{"t": "x"}])
    assert custom.tags == ["bad", "date"]


def test_missing_field_does_nothing() -> None:
    [event] = run_filters('date { match => ["t", "ISO8601"] add_tag => ["dated"] }', [{"other": 1}])
    assert event.tags == []


def test_array_values_use_the_last_parsed() -> None:
    event = parse('match => ["t", "ISO8601"]', ["2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"])
    assert event.timestamp.iso() == "2021-01-01T00:00:00.000Z"


def test_cached_values_give_the_same_result() -> None:
    date = build_plugin("filter", 'date { match => ["t", "dd/MMM/yyyy:HH:mm:ss Z"] }')
    events = [Event({"t": "10/Oct/2000:13:55:36 -0700"}) for _ in range(3)]
    for event in events:
        date.filter(event)
    assert {e.timestamp.iso() for e in events} == {"2000-10-10T20:55:36.000Z"}


def test_locale_month_names() -> None:
    event = parse('match => ["t", "dd MMMM yyyy HH:mm"] locale => "fr-FR" timezone => "UTC"', "02 février 2021 10:00")
    assert event.timestamp.iso() == "2021-02-02T10:00:00.000Z"
    event = parse('match => ["t", "dd. MMM yyyy"] locale => "de" timezone => "UTC"', "03. Okt. 2021")
    assert event.timestamp.iso() == "2021-10-03T00:00:00.000Z"


def test_month_names_are_case_insensitive() -> None:
    event = parse('match => ["t", "dd-MMM-yyyy"] timezone => "UTC"', "01-JAN-2021")
    assert event.timestamp.iso() == "2021-01-01T00:00:00.000Z"


def test_yearless_syslog_gets_a_year() -> None:
    event = parse('match => ["t", "MMM  d HH:mm:ss", "MMM dd HH:mm:ss"] timezone => "UTC"', "Jun  3 10:00:00")
    assert event.timestamp.iso()[4:] == "-06-03T10:00:00.000Z"
    assert int(event.timestamp.iso()[:4]) in {datetime.now(UTC).year - 1, datetime.now(UTC).year,
                                              datetime.now(UTC).year + 1}


@pytest.mark.parametrize(("event_month", "now", "year"), [
    (12, datetime(2026, 1, 2, tzinfo=UTC), 2025),
    (1, datetime(2026, 12, 30, tzinfo=UTC), 2027),
    (6, datetime(2026, 1, 2, tzinfo=UTC), 2026),
])
def test_year_guess_across_new_year(event_month: int, now: datetime, year: int) -> None:
    assert _dateparse.guess_year(event_month, now) == year
    fmt = _dateparse.JodaFormat("MM-dd HH:mm", now=lambda: now)
    millis = fmt.parse(f"{event_month:02d}-15 08:00", UTC)
    assert Timestamp(millis).iso().startswith(f"{year}-{event_month:02d}-15")


@pytest.mark.parametrize("value", ["32/Oct/2000:13:55:36 -0700", "10/Foo/2000:13:55:36 -0700",
                                   "10/Oct/2000:25:55:36 -0700", "10/Oct/2000:13:55:36 -0700 trailing"])
def test_invalid_dates_fail(value: str) -> None:
    event = parse('match => ["t", "dd/MMM/yyyy:HH:mm:ss Z"]', value)
    assert "_dateparsefailure" in event.tags


def test_unix_rejects_out_of_range_and_garbage() -> None:
    assert "_dateparsefailure" in parse('match => ["t", "UNIX"]', "99999999999").tags
    assert "_dateparsefailure" in parse('match => ["t", "UNIX"]', "12ab").tags
    assert "_dateparsefailure" in parse('match => ["t", "TAI64N"]', "@zz").tags


@pytest.mark.parametrize(("config", "message"), [
    ('date { match => ["t"] }', "match"),
    ('date { }', "match"),
    ('date { match => ["t", "ISO8601"] timezone => "Nowhere/Land" }', "timezone"),
    ('date { match => ["t", "yyyy-MM-dd qq"] }', "not supported"),
])
def test_config_errors(config: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_plugin("filter", config)


def _through_datetime(year: int, month: int, day: int, hour: int, minute: int, second: int, millis: int,
                      zone: Any) -> int:
    moment = datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=zone)
    return round((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)


@pytest.mark.parametrize("value", [
    "17/May/2015:10:05:03 +0000", "10/Oct/2000:13:55:36 -0700", "01/Jan/1970:00:00:00 +0130",
    "31/Dec/1969:23:59:59 +0000", "29/Feb/2024:12:00:00 -1200", "1/mar/2015:7:5:3 +14:00",
])
def test_the_usual_fields_parse_as_datetime_would(value):
    parser, _ = _dateparse.compile_format("dd/MMM/yyyy:HH:mm:ss Z")
    day, month, rest = value.split("/")
    year, hour, minute, second_zone = rest.split(":", 3)
    second, zone = second_zone.split(" ")
    month_number = [m.lower() for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                        "Dec")].index(month.lower()) + 1
    expected = _through_datetime(int(year), month_number, int(day), int(hour), int(minute), int(second), 0,
                                 _dateparse.zone_by_name(zone))
    assert parser(value, UTC) == expected


@pytest.mark.parametrize("value", ["30/Feb/2015:10:05:03 +0000", "17/May/2015:24:05:03 +0000",
                                   "17/May/2015:10:60:03 +0000", "17/May/2015:10:05:60 +0000"])
def test_impossible_dates_and_times_are_refused(value):
    parser, _ = _dateparse.compile_format("dd/MMM/yyyy:HH:mm:ss Z")
    with pytest.raises(ValueError):
        parser(value, UTC)


def test_a_zone_with_daylight_saving_time_is_applied_for_the_date():
    parser, _ = _dateparse.compile_format("yyyy-MM-dd HH:mm:ss,SSS")
    paris = _dateparse.zone_by_name("Europe/Paris")
    assert parser("2024-07-01 12:00:00,250", paris) == _through_datetime(2024, 7, 1, 12, 0, 0, 250, paris)
    assert parser("2024-01-01 12:00:00,250", paris) == _through_datetime(2024, 1, 1, 12, 0, 0, 250, paris)
    assert parser("2024-07-01 12:00:00,250", paris) - parser("2024-07-01 12:00:00,250", UTC) == -2 * 3600 * 1000


def test_a_locale_without_names_here_falls_back_to_english_with_a_warning(caplog) -> None:
    # Java's Locale.forLanguageTag accepts any tag; one without data uses the root locale's (English) names.
    with caplog.at_level("WARNING"):
        event = parse('match => ["t", "dd MMM yyyy"] locale => "ec" timezone => "UTC"', "03 Oct 2021")
    assert event.get("@timestamp").iso().startswith("2021-10-03T00:00:00")
    assert 'no month or day names for locale "ec"' in caplog.text


@pytest.mark.parametrize(("fmt", "value", "millis"), [
    ("UNIX", "-0.5", -500), ("UNIX", "1.", 1000), ("UNIX", " 12 ", 12000), ("UNIX", "1.23456", 1234),
    ("UNIX", "٣.٥", 3500), ("UNIX", "2147483647", 2147483647000), ("UNIX", "2147483648", None),
    ("UNIX", "1_000", None), ("UNIX", "+1", None), ("UNIX", "--1", None), ("UNIX", ".5", None),
    ("UNIX", "1.2.3", None), ("UNIX", "-", None), ("UNIX", "", None), ("UNIX", "²", None),
    ("UNIX_MS", "-1500", -1500), ("UNIX_MS", " 1326149001132 ", 1326149001132), ("UNIX_MS", "٣", 3),
    ("UNIX_MS", "1_000", None), ("UNIX_MS", "1.5", None), ("UNIX_MS", "+1", None), ("UNIX_MS", "-", None),
])
def test_unix_strings_read_as_the_regex_reads_them(fmt: str, value: str, millis: int | None) -> None:
    parser, _ = _dateparse.compile_format(fmt)
    if millis is None:
        with pytest.raises(ValueError):
            parser(value, UTC)
    else:
        assert parser(value, UTC) == millis


@pytest.mark.parametrize(("fmt", "value", "message"), [
    ("MMM  d HH:mm:ss", "Dec 13 10:00:05", "'Dec 13 10:00:05' does not match 'MMM  d HH:mm:ss'"),
    ("yyyy-MM-dd'{x}'HH", "nope", "'nope' does not match \"yyyy-MM-dd'{x}'HH\""),
    ("ISO8601", "nope", "'nope' is not ISO8601"),
])
def test_a_value_of_another_format_says_which_value_and_format(fmt: str, value: str, message: str) -> None:
    parser, _ = _dateparse.compile_format(fmt)
    with pytest.raises(ValueError) as caught:
        parser(value, UTC)
    assert str(caught.value) == message
