"""Reused minutes (pipeline/filters/_dateminute.py): a parser that has learned minutes answers every string
exactly as a fresh parser (a full parse) does, across DST changes, day/month/year ends, invalid dates,
leap seconds, year-less formats at New Year and two-digit years."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import pytest

from pipeline.filters import _dateparse
from pipeline.filters._dateminute import digit_neutral, utc_year_month
from pipeline.testing import run_filters
from pipeline.timestamp import Timestamp

ISO_MILLIS = "%Y-%m-%dT%H:%M:%S"


def outcome(parse: Callable[[Any, tzinfo], int], value: Any, zone: tzinfo) -> int | str:
    """The epoch millis, or the kind of error: what the date filter acts on."""
    try:
        return parse(value, zone)
    except ValueError:  # NoMatch included: the date filter treats them alike
        return "ValueError"
    except (OverflowError, KeyError) as exc:
        return type(exc).__name__


def fresh(fmt: str, now: Callable[[], datetime] | None = None) -> Callable[[Any, tzinfo], int]:
    return _dateparse.compile_format(fmt, None, now)[0]


def assert_like_fresh_parsers(fmt: str, values: list[str], zone: tzinfo,
                              now: Callable[[], datetime] | None = None) -> list[int | str]:
    """One long-lived parser (learning minutes as it goes) against a fresh one for each value."""
    learning = fresh(fmt, now)
    got = [outcome(learning, v, zone) for v in values]
    want = [outcome(fresh(fmt, now), v, zone) for v in values]
    assert got == want
    return got


def seconds_around(start: datetime, before: int, after: int, layout: str) -> list[str]:
    return [(start + timedelta(seconds=s)).strftime(layout) for s in range(-before, after)]


@pytest.mark.parametrize(("zone_name", "local_start"), [
    ("Europe/Berlin", datetime(2024, 3, 31, 2, 0)),  # spring forward: 02:00-02:59 does not exist
    ("Europe/Berlin", datetime(2024, 10, 27, 2, 0)),  # fall back: 02:00-02:59 twice
    ("America/New_York", datetime(2024, 3, 10, 2, 0)),
    ("America/New_York", datetime(2024, 11, 3, 1, 0)),
    ("Australia/Lord_Howe", datetime(2024, 4, 7, 1, 30)),  # a 30-minute DST shift
])
def test_dst_changes_in_a_named_zone(zone_name: str, local_start: datetime) -> None:
    zone = _dateparse.zone_by_name(zone_name)
    values = seconds_around(local_start, 150, 150, "%Y-%m-%d %H:%M:%S")
    values += seconds_around(local_start + timedelta(hours=1), 150, 150, "%Y-%m-%d %H:%M:%S")
    got = assert_like_fresh_parsers("yyyy-MM-dd HH:mm:ss", values, zone)
    assert all(isinstance(g, int) for g in got)
    assert assert_like_fresh_parsers("ISO8601", [v.replace(" ", "T") + ".250" for v in values], zone) == [
        g + 250 for g in got]


@pytest.mark.parametrize(("zone_name", "value", "offset_before"), [
    # Offset changes in the middle of a minute (local mean time to standard time): the minute is not learned.
    ("America/New_York", "1883-11-18 12:03:{:02d}", 58),
    ("Africa/Abidjan", "1912-01-01 00:16:{:02d}", 8),
])
def test_an_offset_change_within_a_minute(zone_name: str, value: str, offset_before: int) -> None:
    zone = _dateparse.zone_by_name(zone_name)
    order = [30, 59, 0, offset_before - 1, offset_before, 10, 45]
    got = assert_like_fresh_parsers("yyyy-MM-dd HH:mm:ss", [value.format(s) for s in order], zone)
    by_second = dict(zip(order, got, strict=True))
    # Two seconds on either side of the change are not one second apart.
    assert by_second[offset_before] - by_second[offset_before - 1] != 1000


def test_the_gap_and_the_overlap_give_what_a_full_parse_gives() -> None:
    parse = fresh("yyyy-MM-dd HH:mm:ss")
    berlin = _dateparse.zone_by_name("Europe/Berlin")
    for value in ["2024-03-31 01:59:58", "2024-03-31 01:59:59", "2024-03-31 03:00:00", "2024-03-31 03:00:01"]:
        parse(value, berlin)  # learn the minutes on both sides
    assert datetime.fromtimestamp(parse("2024-03-31 01:59:57", berlin) / 1000, UTC) == datetime(2024, 3, 31, 0, 59, 57, tzinfo=UTC)
    assert datetime.fromtimestamp(parse("2024-03-31 03:00:02", berlin) / 1000, UTC) == datetime(2024, 3, 31, 1, 0, 2, tzinfo=UTC)
    parse("2024-10-27 02:30:00", berlin)
    # An hour that happens twice: the first (summer time) one, as a full parse reads it.
    assert datetime.fromtimestamp(parse("2024-10-27 02:30:07", berlin) / 1000, UTC) == datetime(2024, 10, 27, 0, 30, 7, tzinfo=UTC)


@pytest.mark.parametrize("start", [
    datetime(2024, 12, 31, 23, 59), datetime(2024, 2, 28, 23, 59), datetime(2024, 2, 29, 23, 59),
    datetime(2023, 2, 28, 23, 59), datetime(2024, 4, 30, 23, 59), datetime(1999, 12, 31, 23, 58),
])
@pytest.mark.parametrize(("fmt", "layout"), [
    ("dd/MMM/yyyy:HH:mm:ss Z", "%d/%b/%Y:%H:%M:%S +0130"),
    ("yyyy-MM-dd'T'HH:mm:ss.SSSZZ", "%Y-%m-%dT%H:%M:%S.042-05:00"),
    ("yyyy-MM-dd HH:mm:ss", "%Y-%m-%d %H:%M:%S"),
    ("ISO8601", "%Y-%m-%dT%H:%M:%S.042-05:00"),
    ("ISO8601", "%Y-%m-%dT%H:%M:%S,5Z"),
    ("ISO8601", "%Y-%m-%d %H:%M:%S"),
])
def test_midnight_month_and_year_ends(start: datetime, fmt: str, layout: str) -> None:
    values = seconds_around(start, 70, 130, layout)
    assert_like_fresh_parsers(fmt, values, UTC)
    assert_like_fresh_parsers(fmt, values, _dateparse.zone_by_name("Europe/Paris"))


def test_invalid_dates_and_seconds_stay_rejected_after_a_learned_neighbour() -> None:
    fmt = "dd/MMM/yyyy:HH:mm:ss Z"
    learned = ["28/Feb/2015:10:05:03 +0000", "29/Feb/2016:10:05:03 +0000", "17/May/2015:10:05:03 +0000"]
    bad = ["31/Feb/2015:10:05:03 +0000", "29/Feb/2015:10:05:03 +0000", "17/May/2015:10:05:60 +0000",
           "17/May/2015:10:05:99 +0000", "17/May/2015:10:05:3x +0000", "17/May/2015:10:05:-3 +0000",
           "17/May/2015:10:05:٠٣ +0000", "17/May/2015:10:05:03 +0000 ", "17/May/2015:10:05:0 +0000"]
    got = assert_like_fresh_parsers(fmt, learned + bad + ["29/Feb/2016:10:05:59 +0000"], UTC)
    assert all(isinstance(g, int) for g in got[:3]) and isinstance(got[-1], int)
    outcomes = got[3:-1]
    assert outcomes[:5] == ["ValueError"] * 5  # 31/Feb, 29/Feb/2015, :60, :99, :3x
    # Non-ASCII digits are read by a full parse (as today); the reuse leaves them to it.
    assert outcomes[6] == got[2]
    for config_value in bad[:4]:
        [event] = run_filters('date { match => ["t", "dd/MMM/yyyy:HH:mm:ss Z"] }',
                              [{"t": "17/May/2015:10:05:03 +0000"}, {"t": config_value}])[1:]
        assert event.tags == ["_dateparsefailure"]


def test_year_less_formats_around_new_year() -> None:
    clock = [datetime(2026, 11, 30, 23, 59, tzinfo=UTC)]
    now = lambda: clock[0]  # noqa: E731
    parse = fresh("MMM dd HH:mm:ss", now)
    assert datetime.fromtimestamp(parse("Jan 01 00:00:05", UTC) / 1000, UTC).year == 2026
    clock[0] = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # a January date in December is next year's
    assert datetime.fromtimestamp(parse("Jan 01 00:00:06", UTC) / 1000, UTC).year == 2027
    assert datetime.fromtimestamp(parse("Dec 31 23:59:58", UTC) / 1000, UTC).year == 2026
    clock[0] = datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC)  # a December date in January is last year's
    assert datetime.fromtimestamp(parse("Dec 31 23:59:59", UTC) / 1000, UTC).year == 2026
    assert datetime.fromtimestamp(parse("Jan 01 00:00:07", UTC) / 1000, UTC).year == 2027
    clock[0] = datetime(2027, 2, 1, tzinfo=UTC)
    assert datetime.fromtimestamp(parse("Dec 31 23:59:57", UTC) / 1000, UTC).year == 2027


def test_two_digit_years_follow_the_clock() -> None:
    clock = [datetime(2026, 6, 1, tzinfo=UTC)]
    parse = fresh("dd/MM/yy HH:mm:ss", lambda: clock[0])
    assert datetime.fromtimestamp(parse("01/01/76 10:00:00", UTC) / 1000, UTC).year == 1976
    clock[0] = datetime(2027, 6, 1, tzinfo=UTC)  # the 100-year window moved: 76 is now 2076
    assert datetime.fromtimestamp(parse("01/01/76 10:00:01", UTC) / 1000, UTC).year == 2076


def test_a_zone_from_the_event_is_never_mixed_up() -> None:
    values = [{"t": f"2024-01-01 12:00:{s:02d}", "tz": tz} for s in range(10)
              for tz in ("Asia/Tokyo", "America/New_York", "UTC")]
    events = run_filters('date { match => ["t", "yyyy-MM-dd HH:mm:ss"] timezone => "%{tz}" }', values)
    hours = {"Asia/Tokyo": 3, "America/New_York": 17, "UTC": 12}
    for value, event in zip(values, events, strict=True):
        assert event.timestamp.to_datetime().hour == hours[value["tz"]]
        assert event.timestamp.to_datetime().second == int(value["t"][-2:])


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _random_value(rng: random.Random, fmt: str) -> str:
    """Dates near a few minutes, seconds and fractions of odd widths, with bad ones mixed in."""
    minute = rng.choice([datetime(2024, 2, 29, 23, 59), datetime(2024, 3, 31, 1, 59), datetime(2015, 5, 17, 10, 5),
                         datetime(2023, 12, 31, 23, 59)]) + timedelta(minutes=rng.choice([0, 0, 1]))
    second = str(rng.randint(0, 59)).zfill(2) if rng.random() < 0.7 else rng.choice([str(rng.randint(0, 9)), "60", "7x", "٣"])
    fraction = rng.choice(["", "1", "12", "123", "123", "123456", "1234567891"])
    if fmt == "yyyy-MM-dd HH:mm:ss.SSS":
        return f"{minute:%Y-%m-%d %H:%M}:{second}.{fraction or '0'}"
    if fmt == "ISO8601":
        zone = rng.choice(["", "Z", "+02:00", "-0530", " +01"])
        return f"{minute:%Y-%m-%dT%H:%M}:{second}" + (f".{fraction}" if fraction else "") + zone
    if fmt == "MMM dd HH:mm:ss":
        return f"{_MONTHS[minute.month - 1]} {minute.day:02d} {minute:%H:%M}:{second}"
    return f"{minute:%d}/{_MONTHS[minute.month - 1]}/{minute:%Y:%H:%M}:{second} {rng.choice(['+0000', '-0700'])}"


@pytest.mark.parametrize("fmt", ["dd/MMM/yyyy:HH:mm:ss Z", "yyyy-MM-dd HH:mm:ss.SSS", "ISO8601", "MMM dd HH:mm:ss"])
@pytest.mark.parametrize("zone_name", ["UTC", "Europe/Berlin"])
def test_random_strings_parse_as_a_fresh_parser_parses_them(fmt: str, zone_name: str) -> None:
    rng = random.Random(f"{fmt}{zone_name}")
    values = [_random_value(rng, fmt) for _ in range(1500)]
    got = assert_like_fresh_parsers(fmt, values, _dateparse.zone_by_name(zone_name),
                                    now=lambda: datetime(2026, 12, 3, tzinfo=UTC))
    assert sum(isinstance(g, int) for g in got) > len(got) // 3  # mostly valid ones: the reuse is exercised


def test_digits_in_literals_or_names_turn_the_reuse_off() -> None:
    assert digit_neutral(["/", ":", " ", "Jan", "T"])
    assert not digit_neutral(["'1'"]) and not digit_neutral(["1月"])
    # A digit literal right before the seconds: a learned minute must not swallow a different string.
    assert_like_fresh_parsers("yyyy-MM-dd HH:mm:'1'ss", ["2024-01-01 10:00:105", "2024-01-01 10:00:106"], UTC)
    [event] = run_filters('date { match => ["t", "yyyy MMM dd HH:mm:ss"] locale => "zh" timezone => "UTC" }',
                          [{"t": "2024 1月 02 03:04:05"}])
    assert event.timestamp.iso() == "2024-01-02T03:04:05.000Z"


def test_the_clock_read_by_year_guessing_is_the_utc_month() -> None:
    now = datetime.now(UTC)
    year, month = utc_year_month()
    assert (year, month) in {(now.year, now.month), ((now + timedelta(minutes=1)).year, (now + timedelta(minutes=1)).month)}


def test_learned_minutes_stay_bounded_and_still_answer_right() -> None:
    from pipeline.filters._dateminute import _MAX_LEARNED

    parse = fresh("yyyy-MM-dd HH:mm:ss")
    reuse = parse.__self__._reuse  # type: ignore[attr-defined]
    zones = [_dateparse.zone_by_name(z) for z in ("UTC", "Europe/Berlin", "+0530", "America/New_York")]
    start = datetime(2024, 1, 1)
    values = [(start + timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:07") for m in range(_MAX_LEARNED // 2 + 10)]
    for zone in zones:
        for value in values:
            parse(value, zone)
    assert sum(len(layout[5]) for layouts in reuse._zones.values() for layout in layouts.values()) <= _MAX_LEARNED
    probes = [v[:-2] + "59" for v in values[-50:]]  # minutes learned after the last fresh start
    assert [parse(v, zones[1]) for v in probes] == [fresh("yyyy-MM-dd HH:mm:ss")(v, zones[1]) for v in probes]


@pytest.mark.parametrize(("fmt", "learned"), [
    ("dd/MMM/yyyy:HH:mm:ss Z", "17/May/2015:10:05:03 +0000"),
    ("yyyy-MM-dd HH:mm:ss.SSS", "2024-03-31 01:59:07.250"),
    ("ISO8601", "2015-05-17T10:05:03.120+02:00"),
])
def test_the_last_minute_used_answers_as_a_full_parse_for_every_one_character_change(fmt: str, learned: str) -> None:
    """The last minute's shortcut (length, head, middle and tail compared, not the dict's key): any string
    differing from a learned one in one character (replaced, inserted, dropped) gets the full parse's answer."""
    zone = _dateparse.zone_by_name("Europe/Berlin")
    variants = []
    for at in range(len(learned) + 1):
        for char in "0597 :.+-Z":
            variants.append(learned[:at] + char + learned[at + 1:])  # replaced (appended at the end)
            variants.append(learned[:at] + char + learned[at:])  # inserted
        variants.append(learned[:at] + learned[at + 1:])  # dropped
    parse = fresh(fmt)
    stamp = _dateparse.minute_stamp(parse)
    assert stamp is not None
    got = []
    for variant in variants:
        outcome(parse, learned, zone)  # the learned minute is the last one used before each variant
        got.append(outcome(parse, variant, zone))
        outcome(parse, learned, zone)
        found = stamp(variant, zone)  # the date filter's way in: a Timestamp, with its ISO text when it can
        if found is not None:
            assert found.millis == got[-1] and found.iso() == Timestamp(got[-1]).iso()
    assert got == [outcome(fresh(fmt), v, zone) for v in variants]
    assert sum(isinstance(g, int) for g in got) > 20  # the seconds' and fraction's digits, at least


@pytest.mark.parametrize(("fmt", "zone_name", "values"), [
    ("yyyy-MM-dd HH:mm:ss.SSS", "Europe/Amsterdam", ["1900-05-17 10:05:03.250", "1900-05-17 10:05:59.999"]),  # +00:19:32
    ("yyyy-MM-dd HH:mm:ss.SSS", "UTC", ["1969-12-31 23:59:58.999", "1969-12-31 23:59:59.001"]),
    ("dd/MMM/yyyy:HH:mm:ss Z", "UTC", ["31/Dec/9999:23:59:58 +0000", "31/Dec/9999:23:59:59 +0000",
                                       "01/Jan/0001:00:00:01 +0000", "01/Jan/0001:00:00:02 +0000"]),
    ("dd/MMM/yyyy:HH:mm:ss Z", "UTC", ["17/May/2015:10:05:03 +0530", "17/May/2015:10:05:04 +0530"]),
])
def test_iso_text_of_the_last_minute_is_the_timestamps_own(fmt: str, zone_name: str, values: list[str]) -> None:
    """The ISO text made from a minute's text and the string's digits equals what Timestamp.iso() computes
    from the millis: offsets of seconds (LMT), before 1970, the ends of the calendar, half-hour offsets."""
    zone = _dateparse.zone_by_name(zone_name)
    parse = fresh(fmt)
    stamp = _dateparse.minute_stamp(parse)
    assert stamp is not None
    for value in values:
        parse(value, zone)
        found = stamp(value, zone)
        assert found is not None and found.iso() == Timestamp(parse(value, zone)).iso()


def test_the_last_minute_used_needs_no_dict_lookup_and_stays_in_its_zone() -> None:
    parse = fresh("dd/MMM/yyyy:HH:mm:ss Z")
    reuse = parse.__self__._reuse  # type: ignore[attr-defined]
    utc, paris = _dateparse.zone_by_name("UTC"), _dateparse.zone_by_name("Europe/Paris")
    first = parse("17/May/2015:10:05:03 +0000", utc)
    reuse._zones.clear()  # the learned minutes are gone: only the last minute's shortcut can answer
    assert reuse.lookup("17/May/2015:10:05:59 +0000", utc) == first + 56_000
    assert reuse.lookup("17/May/2015:10:05:59 +0000", paris) is None  # learned in another zone
    assert reuse.lookup("17/May/2015:10:06:59 +0000", utc) is None  # another minute
