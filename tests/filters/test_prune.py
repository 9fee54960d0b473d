"""prune: white/black lists of names and values, arrays, interpolation, protected fields."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.testing import build_plugin, run_filters


def test_whitelist_names_keeps_timestamp() -> None:
    [event] = run_filters('prune { whitelist_names => ["^msg$", "^host"] add_tag => ["pruned"] }',
                          [{"msg": 1, "hostname": 2, "other": 3, "@metadata": {"m": 1}}])
    assert set(event.to_dict()) == {"msg", "hostname", "@timestamp", "tags"}
    assert event.get("[@metadata][m]") == 1 and event.has_tag("pruned")


def test_default_blacklist_removes_unresolved_sprintf() -> None:
    [event] = run_filters("prune { }", [{"%{unresolved}": 1, "ok": 2}])
    assert not event.includes("%{unresolved}") and event.get("ok") == 2


def test_blacklist_names() -> None:
    [event] = run_filters('prune { blacklist_names => ["^tmp_"] }', [{"tmp_a": 1, "keep": 2}])
    assert not event.includes("tmp_a") and event.get("keep") == 2


def test_values() -> None:
    [event] = run_filters('prune { whitelist_values => { "level" => "^(ERROR|WARN)$" "codes" => "^5" } '
                          'blacklist_values => { "user" => "^test" "n" => "^4" } }',
                          [{"level": "DEBUG", "codes": ["500", "404", "503"], "user": "test1", "n": 42}])
    assert not event.includes("level") and event.get("codes") == ["500", "503"]
    assert not event.includes("user") and not event.includes("n")
    [kept] = run_filters('prune { whitelist_values => { "level" => "^ERROR$" } }', [{"level": "ERROR"}])
    assert kept.get("level") == "ERROR"


def test_interpolate() -> None:
    [event] = run_filters('prune { whitelist_names => ["^%{keep}$", "^keep$"] interpolate => true }',
                          [{"keep": "a", "a": 1, "b": 2}])
    assert event.get("a") == 1 and not event.includes("b")


def test_bad_regex() -> None:
    with pytest.raises(ConfigError):
        build_plugin("filter", 'prune { whitelist_names => ["("] }')
