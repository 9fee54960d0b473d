"""dissect: every notation, conversions and the failure tag."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.testing import build_plugin, run_filters


def run(config: str, message: str, **fields: Any) -> Event:
    [event] = run_filters(f"dissect {{ {config} }}", [{"message": message, **fields}])
    return event


def test_syslog_like_line_with_append_and_skip() -> None:
    event = run('mapping => { "message" => "%{ts} %{+ts} %{+ts} %{src} %{} %{prog}[%{pid}]: %{msg}" }',
                "Oct 16 20:21:22 www1 x sshd[123]: hello world")
    assert event.get("ts") == "Oct 16 20:21:22" and event.get("src") == "www1"
    assert event.get("prog") == "sshd" and event.get("pid") == "123" and event.get("msg") == "hello world"


def test_append_ordinal_and_separator() -> None:
    event = run('mapping => { "message" => "%{+a/2} %{+a/1} %{+a/3}" } append_separator => "-"', "b a c")
    assert event.get("a") == "a-b-c"


def test_named_skip_and_indirect() -> None:
    event = run('mapping => { "message" => "%{?key}=%{&key} %{?k2}=%{&k2}" }', "user=bob level=3")
    assert event.get("user") == "bob" and event.get("level") == "3"
    assert not event.includes("key") and not event.includes("k2")


def test_right_padding() -> None:
    event = run('mapping => { "message" => "%{a->} %{b} %{c}" }', "x      y z")
    assert (event.get("a"), event.get("b"), event.get("c")) == ("x", "y", "z")


def test_leading_delimiter_nested_fields_and_convert() -> None:
    event = run('mapping => { "message" => "<%{[log][pri]}>%{[n]},%{f}" } '
                'convert_datatype => { "[log][pri]" => "int" "f" => "float" }', "<13>x,1.5")
    assert event.get("[log][pri]") == 13 and event.get("f") == 1.5 and event.get("n") == "x"


def test_conversion_failure_tag_keeps_value() -> None:
    event = run('mapping => { "message" => "%{a}" } convert_datatype => { "a" => "int" }', "x")
    assert event.get("a") == "x" and "_dataconversionuncoercible_a_int" in event.tags


def test_several_mappings_and_common_options() -> None:
    event = run('mapping => { "message" => "%{a} %{b}" "other" => "%{c}|%{d}" } add_tag => ["ok"]',
                "1 2", other="3|4")
    assert [event.get(k) for k in "abcd"] == ["1", "2", "3", "4"] and event.has_tag("ok")


@pytest.mark.parametrize(("message", "fields"), [("no bracket", {}), ("", {})])
def test_failure_tag(message: str, fields: dict[str, Any]) -> None:
    event = run('mapping => { "message" => "<%{pri}>%{rest}" } add_tag => ["ok"]', message)
    assert event.tags == ["_dissectfailure"] and not event.includes("pri")


def test_missing_source_is_a_failure() -> None:
    [event] = run_filters('dissect { mapping => { "absent" => "%{a}" } tag_on_failure => ["nope"] }', [{}])
    assert event.tags == ["nope"]


def test_empty_values_are_kept() -> None:
    event = run('mapping => { "message" => "%{a},%{b},%{c}" }', "x,,z")
    assert event.get("b") == "" and event.get("c") == "z"


def test_adjacent_fields_never_match_like_logstash() -> None:
    assert run('mapping => { "message" => "%{a}%{b} %{c}" }', "xy z").tags == ["_dissectfailure"]


def test_converting_an_uncaptured_field_is_tagged() -> None:
    event = run('mapping => { "message" => "%{a} %{?b}" } convert_datatype => { "b" => "int" }', "1 2")
    assert event.tags == ["_dataconversionnullvalue_b_int"] and event.get("a") == "1"


@pytest.mark.parametrize("mapping", ["no fields", "%{+}"])
def test_bad_mappings(mapping: str) -> None:
    with pytest.raises(ConfigError, match="mapping"):
        build_plugin("filter", f'dissect {{ mapping => {{ "message" => "{mapping}" }} }}')
