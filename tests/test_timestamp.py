"""Timestamp.iso: Logstash's ``2026-11-21T05:16:26.123Z`` form, whatever order instants are formatted in."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from pipeline.timestamp import Timestamp

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def by_datetime(millis: int) -> str:
    moment = EPOCH + timedelta(milliseconds=millis)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis % 1000:03d}Z"


def test_iso_around_minute_day_and_year_ends_in_any_order() -> None:
    ends = [0, 1431857160000, 1735689600000, 951782400000, -60000, -86400000]  # epoch, a minute, New Year, leap day
    millis = [end + delta for end in ends for delta in range(-61_000, 61_000, 499)]
    random.Random(5).shuffle(millis[len(millis) // 2:])  # in time order, then jumping between minutes
    assert [Timestamp(m).iso() for m in millis] == [by_datetime(m) for m in millis]


def test_iso_of_random_instants_from_year_1000_to_9999() -> None:
    rng = random.Random(7)
    millis = [rng.randint(-30610224000000, 253402300799999) for _ in range(5000)]
    assert [Timestamp(m).iso() for m in millis] == [by_datetime(m) for m in millis]
