"""date's filter_batch (the runtime's entry) gives each event what filter() gives it alone."""

from __future__ import annotations

import random
from typing import Any

import pytest

from pipeline.event import Event
from pipeline.testing import build_plugin, run_filters

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _values(rng: random.Random, count: int) -> list[Any]:
    """Apache-style dates, many repeated (as lines of one second), with bad and odd values mixed in."""
    seen: list[Any] = []
    for _ in range(count):
        pick = rng.random()
        if seen and pick < 0.5:
            seen.append(rng.choice(seen))
        elif pick < 0.85:
            seen.append(f"{rng.randint(1, 28):02d}/{rng.choice(MONTHS)}/{rng.randint(1990, 2030)}:"
                        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} "
                        f"{rng.choice('+-')}{rng.randint(0, 12):02d}{rng.choice(['00', '30'])}")
        else:
            seen.append(rng.choice(["not a date", "", 1326149001, None, ["17/May/2015:10:05:03 +0000"],
                                    {"a": 1}, "31/Feb/2015:10:05:03 +0000"]))
    return seen


@pytest.mark.parametrize("extra", [
    "",
    'timezone => "Europe/Paris"',
    'target => "parsed"',
    'add_tag => ["dated"]',
    'timezone => "%{zone}"',
])
def test_a_batch_gives_what_filter_gives_each_event(extra) -> None:
    rng = random.Random(15)
    config = f'date {{ match => ["t", "dd/MMM/yyyy:HH:mm:ss Z", "UNIX"] {extra} }}'
    records = [{"n": n, "zone": "Asia/Tokyo"} | ({} if value is None else {"t": value})
               for n, value in enumerate(_values(rng, 600))]
    alone = build_plugin("filter", config)
    want = []
    for record in records:
        event = Event(dict(record, **{"@timestamp": "2000-01-01T00:00:00Z"}))
        alone.filter(event)
        want.append(event.to_dict())
    got = run_filters(config, [dict(r, **{"@timestamp": "2000-01-01T00:00:00Z"}) for r in records])
    assert [e.to_dict() for e in got] == want
    assert any("_dateparsefailure" in e.get("tags", []) for e in want)  # failures are in the mix


def test_an_error_on_one_event_tags_it_and_the_batch_goes_on() -> None:
    plugin = build_plugin("filter", 'date { match => ["t", "dd/MMM/yyyy:HH:mm:ss Z"] }')
    parse = plugin.filter

    def failing(event: Event) -> None:
        if event.get("t") == "boom":
            raise RuntimeError("broken")
        parse(event)

    plugin.filter = failing  # type: ignore[method-assign]
    events = [Event({"t": "17/May/2015:10:05:03 +0000"}), Event({"t": "boom"}),
              Event({"t": "17/May/2015:10:05:03 +0000"}), Event({"t": "18/May/2015:10:05:03 +0000"})]
    out = plugin.filter_batch(events)
    assert out == events
    assert [e.has_tag("_filter_error") for e in out] == [False, True, False, False]
    assert [str(e.timestamp) for e in (out[0], out[2], out[3])] == [
        "2015-05-17T10:05:03.000Z", "2015-05-17T10:05:03.000Z", "2015-05-18T10:05:03.000Z"]


@pytest.mark.parametrize("formats", ['"MMM dd HH:mm:ss", "MMM  d HH:mm:ss"', '"ISO8601"', '"yyyy-MM-dd HH:mm:ss.SSS"'])
def test_year_less_and_other_formats_give_in_a_batch_what_filter_gives(formats: str) -> None:
    rng = random.Random(formats)
    values: list[Any] = []
    for _ in range(400):
        day, second = rng.randint(1, 31), rng.choice([rng.randint(0, 59), 60, 99])
        values.append(rng.choice([
            f"{rng.choice(MONTHS)} {day:02d} 10:0{rng.randint(0, 2)}:{second:02d}",
            f"{rng.choice(MONTHS)} {day:>2} 10:0{rng.randint(0, 2)}:{second:02d}",
            f"2024-02-{day:02d}T10:0{rng.randint(0, 2)}:{second:02d}.{rng.randint(0, 999)}+01:00",
            f"2024-02-{day:02d} 10:0{rng.randint(0, 2)}:{second:02d}.{rng.randint(0, 999):03d}",
            "not a date", 17,
        ]))
    config = f'date {{ match => ["t", {formats}] timezone => "Europe/Berlin" }}'
    alone = build_plugin("filter", config)
    want = []
    for value in values:
        event = Event({"t": value, "@timestamp": "2000-01-01T00:00:00Z"})
        alone.filter(event)
        want.append(event.to_dict())
    got = run_filters(config, [{"t": v, "@timestamp": "2000-01-01T00:00:00Z"} for v in values])
    assert [e.to_dict() for e in got] == want
    assert sum("_dateparsefailure" not in e.get("tags", []) for e in want) > 20  # parsed ones are in the mix


def test_an_error_in_a_parser_tags_the_event_and_the_batch_goes_on() -> None:
    plugin = build_plugin("filter", 'date { match => ["t", "dd/MMM/yyyy:HH:mm:ss Z"] }')

    def broken(value: Any, zone: Any) -> int:
        if value == "boom":
            raise RuntimeError("broken parser")
        raise ValueError("not mine")

    plugin._parsers.insert(0, broken)
    events = [Event({"t": "17/May/2015:10:05:03 +0000"}), Event({"t": "boom"}), Event({"t": "18/May/2015:10:05:04 +0000"})]
    out = plugin.filter_batch(events)
    assert [e.has_tag("_filter_error") for e in out] == [False, True, False]
    assert [str(e.timestamp) for e in (out[0], out[2])] == ["2015-05-17T10:05:03.000Z", "2015-05-18T10:05:04.000Z"]


@pytest.mark.parametrize("formats", ['"UNIX"', '"UNIX_MS"', '"UNIX", "UNIX_MS"', '"ISO8601"'])
def test_epoch_numbers_give_in_a_batch_what_filter_gives(formats: str) -> None:
    numbers: list[Any] = [1326149001, 1326149001, 1326149001.5, 1326149001.5, 1.0, 1, -5, 2**40, 2**31,
                          float("nan"), float("inf"), True, False, 0, 0.0, "1326149001", 1326149001132]
    config = f'date {{ match => ["t", {formats}] }}'
    alone = build_plugin("filter", config)
    want = []
    for value in numbers:
        event = Event({"t": value, "@timestamp": "2000-01-01T00:00:00Z"})
        alone.filter(event)
        want.append((event.timestamp.millis, event.tags))
    got = run_filters(config, [{"t": v, "@timestamp": "2000-01-01T00:00:00Z"} for v in numbers])
    assert [(e.timestamp.millis, e.tags) for e in got] == want
    if formats != '"ISO8601"':
        assert sum(not tags for _, tags in want) >= 8  # parsed ones are in the mix


@pytest.mark.parametrize(("formats", "learned"), [
    ('"dd/MMM/yyyy:HH:mm:ss Z"', "17/May/2015:10:05:03 +0000"),
    ('"ISO8601"', "2015-05-17T10:05:03.120+02:00"),
    ('"yyyy-MM-dd HH:mm:ss.SSS"', "2024-03-31 01:59:07.250"),  # Berlin: the DST change's minute before
    ('"MMM dd HH:mm:ss", "MMM  d HH:mm:ss"', "Dec 13 10:05:03"),  # year-less: the clock's era checked
])
def test_strings_of_the_minute_used_last_get_in_a_batch_what_filter_gives(formats: str, learned: str) -> None:
    """filter_batch checks the minute used last itself (MinuteReuse.last_minute): every string one character
    away from a learned one (replaced, inserted, dropped), each right after it, gets the full parse's answer
    (millis, ISO text, tags)."""
    values = []
    for at in range(len(learned) + 1):
        for char in "0597 :.+-Z":
            values += [learned, learned[:at] + char + learned[at + 1:], learned, learned[:at] + char + learned[at:]]
        values += [learned, learned[:at] + learned[at + 1:]]
    config = f'date {{ match => ["t", {formats}] timezone => "Europe/Berlin" }}'
    want = []
    for value in values:
        event = Event({"t": value, "@timestamp": "2000-01-01T00:00:00Z"})
        build_plugin("filter", config).filter(event)  # a fresh filter: a full parse, nothing learned
        want.append((event.timestamp.millis, event.timestamp.iso(), event.tags))
    batch = [Event({"t": v, "@timestamp": "2000-01-01T00:00:00Z"}) for v in values]
    got = build_plugin("filter", config).filter_batch(batch)
    assert [(e.timestamp.millis, e.timestamp.iso(), e.tags) for e in got] == want
    assert len({millis for millis, _, tags in want if not tags}) > 20  # the seconds' and fraction's digits, at least
