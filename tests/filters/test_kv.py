"""kv: splitting, quoting, key/value cleanup, include/exclude, recursion, duplicates and failures."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.testing import build_plugin, run_filters


def run(config: str, message: Any, **fields: Any) -> Event:
    [event] = run_filters(f"kv {{ {config} }}", [{"message": message, **fields}])
    return event


def test_defaults_quotes_and_brackets() -> None:
    event = run("", 'a=1 b="two words" c=[x y] d=<z> e=(p q) f=\'single\' g=h=i')
    assert [event.get(k) for k in "abcdefg"] == ["1", "two words", "x y", "z", "p q", "single", "h=i"]


def test_include_brackets_off() -> None:
    event = run("include_brackets => false", "c=[x y] d=1")
    assert event.get("c") == "[x" and event.get("d") == "1"


def test_custom_splits_and_target() -> None:
    event = run('field_split => "&?" value_split => ":" target => "query"', "?x:1&y:2&z")
    assert event.get("query") == {"x": "1", "y": "2"}


def test_split_patterns() -> None:
    event = run(r'field_split_pattern => ",\s*" value_split_pattern => "\s*:\s*"', "k1 : v1,  k2:v2")
    assert event.get("k1") == "v1" and event.get("k2") == "v2"


def test_trim_remove_transform_prefix_include() -> None:
    event = run('trim_key => "<>" trim_value => "." transform_key => "uppercase" transform_value => "capitalize" '
                'prefix => "p_" include_keys => ["A", "B"]', "<a>=xY. b=yy.. c=z")
    assert event.get("p_A") == "Xy" and event.get("p_B") == "Yy" and not event.includes("p_C")


def test_remove_chars_and_exclude() -> None:
    event = run('remove_char_key => "-" remove_char_value => "\'" exclude_keys => ["drop"] '
                'transform_key => "lowercase"', "My-Key='v' drop=1")
    assert event.get("mykey") == "v" and not event.includes("drop")


def test_duplicates() -> None:
    assert run("", "a=1 a=1 a=2").get("a") == ["1", "1", "2"]
    assert run("allow_duplicate_values => false", "a=1 a=1 a=2").get("a") == ["1", "2"]


def test_empty_values() -> None:
    assert not run("", 'a="" b=1').includes("a")
    assert run("allow_empty_values => true", 'a="" b=1').get("a") == ""


def test_recursive() -> None:
    event = run("recursive => true", "outer=[inner=1 x=2] k=v")
    assert event.get("outer") == {"inner": "1", "x": "2"} and event.get("k") == "v"


def test_whitespace_modes() -> None:
    assert run("", "a = 1 b= 2").get("b") == "2"
    strict = run('whitespace => "strict"', "a = 1 b=2")
    assert not strict.includes("a") and strict.get("b") == "2"


def test_default_keys_and_other_source() -> None:
    event = run('source => "q" default_keys => { "from" => "none" "a" => "0" }', "", q="a=1")
    assert event.get("a") == "1" and event.get("from") == "none"


def test_array_source_and_non_string() -> None:
    assert run("", ["a=1", "b=2"]).get("b") == "2"
    event = run('add_tag => ["kv"]', 5)
    assert event.tags == []


def test_no_pairs_no_common_options() -> None:
    assert run('add_tag => ["kv"]', "nothing here").tags == []
    assert run('add_tag => ["kv"]', "a=1").tags == ["kv"]


def test_timeout_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = build_plugin("filter", 'kv { timeout_millis => 5 tag_on_timeout => "slow" }')

    def too_slow(*args: Any, **kwargs: Any) -> Any:
        raise TimeoutError("regex timed out")

    monkeypatch.setattr(plugin, "_parse", too_slow)
    event = Event({"message": "a=1"})
    plugin.filter(event)
    assert event.tags == ["slow"] and not event.includes("a")


def test_failure_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = build_plugin("filter", "kv { }")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("boom")

    monkeypatch.setattr(plugin, "_parse", broken)
    event = Event({"message": "a=1"})
    plugin.filter(event)
    assert event.tags == ["_kv_filter_error"]


@pytest.mark.parametrize("config", ['kv { value_split => "" }', 'kv { field_split_pattern => "(" }',
                                    'kv { transform_key => "reverse" }'])
def test_config_errors(config: str) -> None:
    with pytest.raises(ConfigError):
        build_plugin("filter", config)


def test_escapes_tabs_and_dynamic_keys() -> None:
    event = run(r'field_split => "\t" include_keys => ["%{want}", "b"]', "a=1\tb=x y\tc=3", want="a")
    assert event.get("a") == "1" and event.get("b") == "x y" and not event.includes("c")
    quoted = run(r'trim_value => "\[\],"', r'q="say \"hi\"" v=[1],')
    assert quoted.get("q") == r'say \"hi\"' and quoted.get("v") == "1"


def test_bracketed_keys_are_field_references() -> None:
    event = run('field_split => "&"', "[a][b]=1&[bad=2")
    assert event.get("[a][b]") == "1" and event.data["[bad"] == "2"
