"""truncate: byte limits that respect UTF-8, listed fields, nested values, all fields."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.filters.truncate import truncate_utf8
from pipeline.testing import build_plugin, run_filters


def test_truncate_utf8_boundaries() -> None:
    assert truncate_utf8("héllo", 2) == "h"  # é is two bytes: never cut in half
    assert truncate_utf8("日本語", 7) == "日本"
    assert truncate_utf8("abc", 10) == "abc"


def test_listed_fields_nested_values() -> None:
    [event] = run_filters('truncate { length_bytes => 3 fields => ["a", "[n][m]", "arr", "%{which}"] add_tag => ["t"] }',
                          [{"a": "abcdef", "n": {"m": "xyzw"}, "arr": ["12345", 6], "b": "untouched", "which": "b"}])
    assert event.get("a") == "abc" and event.get("[n][m]") == "xyz" and event.get("arr") == ["123", 6]
    assert event.get("b") == "unt" and event.has_tag("t")


def test_all_fields_by_default() -> None:
    [event] = run_filters("truncate { length_bytes => 2 }", [{"a": "abc", "h": {"x": "xyz"}, "n": 12345}])
    assert event.get("a") == "ab" and event.get("[h][x]") == "xy" and event.get("n") == 12345
    assert len(event.timestamp.iso()) == 24


def test_length_must_be_positive() -> None:
    with pytest.raises(ConfigError):
        build_plugin("filter", "truncate { length_bytes => 0 }")
