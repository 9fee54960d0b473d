"""throttle: before/after counts per key and period, by event time, and slot expiry."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.testing import build_plugin, run_filters


def stamps(*seconds: int, host: str = "a") -> list[dict]:
    return [{"host": host, "@timestamp": 1_700_000_000 + s} for s in seconds]


def throttled(out: list) -> list[bool]:
    return [e.has_tag("throttled") for e in out]


def test_after_count() -> None:
    out = run_filters('throttle { key => "%{host}" after_count => 2 period => 60 add_tag => ["throttled"] }',
                      stamps(0, 1, 2, 3))
    assert throttled(out) == [False, False, True, True]


def test_before_count() -> None:
    out = run_filters('throttle { key => "%{host}" before_count => 3 period => 60 add_tag => ["throttled"] }',
                      stamps(0, 1, 2, 3))
    assert throttled(out) == [True, True, False, False]


def test_new_period_resets_and_keys_are_separate() -> None:
    out = run_filters('throttle { key => "%{host}" after_count => 1 period => "10" add_tag => ["throttled"] }',
                      stamps(0, 5, 10, 11) + stamps(1, host="b"))
    assert throttled(out) == [False, True, False, True, False]


def test_period_from_the_event() -> None:
    events = [dict(e, p="100") for e in stamps(0, 50)]
    out = run_filters('throttle { key => "k" after_count => 1 period => "%{p}" add_tag => ["throttled"] }', events)
    assert throttled(out) == [False, True]


def test_max_counters_bounds_memory() -> None:
    plugin = build_plugin("filter", 'throttle { key => "%{host}" after_count => 1 max_counters => 3 }')
    for i in range(10):
        plugin.filter(Event({"host": f"h{i}", "@timestamp": 1_700_000_000}))
    assert len(plugin._slots) <= 3 and len(plugin._first_seen) <= 3


def test_max_age_forgets_old_slots() -> None:
    plugin = build_plugin("filter", 'throttle { key => "k" after_count => 5 max_age => 100 period => 10 }')
    plugin.filter(Event({"@timestamp": 1_700_000_000}))
    plugin.filter(Event({"@timestamp": 1_700_001_000}))
    assert len(plugin._slots) == 1


@pytest.mark.parametrize("config", ['throttle { key => "k" }', 'throttle { key => "k" before_count => 5 after_count => 2 }'])
def test_config_errors(config: str) -> None:
    with pytest.raises(ConfigError):
        build_plugin("filter", config)
