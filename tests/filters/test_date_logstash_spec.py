"""The expectations of Logstash's own date filter spec (logstash-plugins/logstash-filter-date,
spec/filters/date_spec.rb), each checked through the filter, and for formats with seconds once more by a
parser that has learned the value's minute (pipeline/filters/_dateminute.py), which must agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.filters import _dateparse
from pipeline.testing import run_filters
from pipeline.timestamp import Timestamp

ISO8601 = {
    "2001-01-01T00:00:00-0800": "2001-01-01T08:00:00.000Z",
    "1974-03-02T04:09:09-0800": "1974-03-02T12:09:09.000Z",
    "2010-05-03T08:18:18+00:00": "2010-05-03T08:18:18.000Z",
    "2004-07-04T12:27:27-00:00": "2004-07-04T12:27:27.000Z",
    "2001-09-05T16:36:36+0000": "2001-09-05T16:36:36.000Z",
    "2001-11-06T20:45:45-0000": "2001-11-06T20:45:45.000Z",
    "2001-12-07T23:54:54Z": "2001-12-07T23:54:54.000Z",
    "2010-05-03T08:18:18.123+00:00": "2010-05-03T08:18:18.123Z",
    "2004-07-04T12:27:27.123-04:00": "2004-07-04T16:27:27.123Z",
    "2001-09-05T16:36:36.123+0700": "2001-09-05T09:36:36.123Z",
    "2001-11-06T20:45:45.123-0000": "2001-11-06T20:45:45.123Z",
    "2001-12-07T23:54:54.123Z": "2001-12-07T23:54:54.123Z",
    "2001-12-07T23:54:54,123Z": "2001-12-07T23:54:54.123Z",
    "2001-11-06 20:45:45.123-0000": "2001-11-06T20:45:45.123Z",
    "2001-12-07 23:54:54.123Z": "2001-12-07T23:54:54.123Z",
    "2001-12-07 23:54:54,123Z": "2001-12-07T23:54:54.123Z",
    "2001-11-06 20:45:45.123": "2001-11-06T20:45:45.123Z",
    "2001-11-06 20:45:45,123": "2001-11-06T20:45:45.123Z",
}

# (match formats, timezone, value, expected @timestamp)
SAMPLES: list[tuple[str, str | None, Any, str]] = [
    *[('"ISO8601"', "UTC", value, want) for value, want in ISO8601.items()],
    ('"UNIX"', None, "0", "1970-01-01T00:00:00.000Z"),
    ('"UNIX"', None, "1000000000", "2001-09-09T01:46:40.000Z"),
    ('"UNIX"', None, 0, "1970-01-01T00:00:00.000Z"),
    ('"UNIX"', None, 1000000000, "2001-09-09T01:46:40.000Z"),
    ('"UNIX"', None, "1350414944.123456", "2012-10-16T19:15:44.123Z"),
    ('"UNIX"', None, 1350414944.123456, "2012-10-16T19:15:44.123Z"),
    ('"UNIX_MS"', None, "0", "1970-01-01T00:00:00.000Z"),
    ('"UNIX_MS"', None, "456", "1970-01-01T00:00:00.456Z"),
    ('"UNIX_MS"', None, "1000000000123", "2001-09-09T01:46:40.123Z"),
    ('"UNIX_MS"', None, 456, "1970-01-01T00:00:00.456Z"),
    ('"UNIX_MS"', None, 1000000000123, "2001-09-09T01:46:40.123Z"),
    ('"UNIX", "UNIX_MS"', None, "1000000000123", "2001-09-09T01:46:40.123Z"),
    ('"UNIX", "UNIX_MS"', None, "1478207457", "2016-11-03T21:10:57.000Z"),
    ('"UNIX", "UNIX_MS"', None, "1478207457.456", "2016-11-03T21:10:57.456Z"),
    ('"UNIX", "UNIX_MS"', None, 1478207457.456, "2016-11-03T21:10:57.456Z"),
    ('"TAI64N"', None, "4000000050d506482dbdf024", "2012-12-22T01:00:46.767Z"),
    ('"TAI64N"', None, "@4000000050d506482dbdf024", "2012-12-22T01:00:46.767Z"),
    ('"yyyy MMM dd HH:mm:ss"', "America/Los_Angeles", "2013 Nov 24 01:29:01", "2013-11-24T09:29:01.000Z"),
    ('"yyyy MMM dd HH:mm:ss"', "America/Los_Angeles", "2013 Jun 24 01:29:01", "2013-06-24T08:29:01.000Z"),
    ('"yyyy MMM dd HH:mm:ss"', "CET", "2016 Mar 26 02:00:37", "2016-03-26T01:00:37.000Z"),
    ('"dd/MMM/yyyy:HH:mm:ss Z"', None, "25/Mar/2013:20:33:56 +0000", "2013-03-25T20:33:56.000Z"),
    ('"MMM dd HH:mm:ss Z"', None, "Nov 24 01:29:01 -0800", f"{datetime.now(UTC).year}-11-24T09:29:01.000Z"),
]


@pytest.mark.parametrize(("formats", "zone", "value", "want"), SAMPLES)
def test_logstash_date_spec_samples(formats: str, zone: str | None, value: Any, want: str) -> None:
    timezone = f'timezone => "{zone}"' if zone else ""
    [event] = run_filters(f'date {{ match => ["mydate", {formats}] locale => "en" {timezone} }}', [{"mydate": value}])
    assert event.get("mydate") == value
    assert "_dateparsefailure" not in event.tags
    assert event.timestamp.iso() == want


@pytest.mark.parametrize(("formats", "zone", "value", "want"),
                         [s for s in SAMPLES if isinstance(s[2], str) and s[0].count('"') == 2])
def test_a_parser_with_the_minute_learned_agrees(formats: str, zone: str | None, value: str, want: str) -> None:
    parse, _ = _dateparse.compile_format(formats.strip('"'), "en")
    tz = _dateparse.zone_by_name(zone) if zone else _dateparse.local_zone()
    first = parse(value, tz)
    assert Timestamp(parse(value, tz)).iso() == Timestamp(first).iso() == want  # the second from the learned minute


@pytest.mark.parametrize("value", ["%{bad_value}", "this will not parse", "2013/Apr/21"])
def test_logstash_spec_failures_tag_and_keep_the_timestamp(value: str) -> None:
    [event] = run_filters('date { match => ["mydate", "UNIX", "yyyy/MM/dd", "MMM  d HH:mm:ss", "MMM dd HH:mm:ss"] '
                          'tag_on_failure => ["date_failed"] add_tag => ["tagged"] }',
                          [{"mydate": value, "@timestamp": "2000-01-01T00:00:00.000Z"}])
    assert event.tags == ["date_failed"]
    assert event.timestamp.iso() == "2000-01-01T00:00:00.000Z"


def test_logstash_spec_nested_field_and_french_month_names() -> None:
    [event] = run_filters('date { match => ["[data][deep]", "ISO8601"] }', [{"data": {"deep": "2013-01-01T00:00:00.000Z"}}])
    assert event.timestamp.iso() == "2013-01-01T00:00:00.000Z"
    for locale in ("fr", "fr-FR", "fr_FR"):
        [event] = run_filters(f'date {{ match => ["message", "dd MMMM yyyy"] locale => "{locale}" timezone => "UTC" }}',
                              [{"message": "14 juillet 1789"}])
        assert event.timestamp.iso() == "1789-07-14T00:00:00.000Z"


@pytest.mark.parametrize(("now", "value", "zone", "want"), [
    (datetime(2014, 1, 1, 0, 30, 50, tzinfo=UTC), "Dec 31 23:59:00", "UTC", "2013-12-31T23:59:00.000Z"),
    (datetime(2013, 12, 31, 23, 59, 50, tzinfo=UTC), "Jan 01 01:00:00", "UTC", "2014-01-01T01:00:00.000Z"),
    (datetime(2016, 3, 29, 23, 59, 50, tzinfo=UTC), "Mar 26 02:00:37", "CET", "2016-03-26T01:00:37.000Z"),
])
def test_logstash_spec_year_guessing_also_from_a_learned_minute(now: datetime, value: str, zone: str, want: str) -> None:
    parse, year_less = _dateparse.compile_format("MMM dd HH:mm:ss", "en", lambda: now)
    assert year_less
    tz = _dateparse.zone_by_name(zone)
    assert [Timestamp(parse(value, tz)).iso() for _ in range(2)] == [want, want]
