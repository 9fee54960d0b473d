"""mutate: every operation, Logstash's fixed order, conversions and the failure tag."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.testing import build_plugin, run_filters


def run(config: str, fields: dict[str, Any]) -> Event:
    [event] = run_filters(f"mutate {{ {config} }}", [fields])
    return event


def test_rename_replace_update_coerce() -> None:
    event = run('rename => { "a" => "[b][c]" "missing" => "x" } replace => { "r" => "%{[b][c]}!" } '
                'update => { "u" => "new" "absent" => "nope" } coerce => { "n" => "default" "a2" => "d" }',
                {"a": "A", "u": "old", "n": None, "a2": "keep"})
    assert event.get("[b][c]") == "A" and not event.includes("a") and not event.includes("x")
    assert event.get("r") == "A!"
    assert event.get("u") == "new" and not event.includes("absent")
    assert event.get("n") == "default" and event.get("a2") == "keep"


def test_rename_with_sprintf_names() -> None:
    event = run('rename => { "%{src}" => "dst_%{src}" }', {"src": "x", "x": 1})
    assert event.get("dst_x") == 1 and not event.includes("x")


def test_replace_with_number_gives_string_like_logstash() -> None:
    assert run('replace => { "n" => 5 }', {}).get("n") == "5"


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("integer", "1,234", 1234), ("integer", "12.7", 12), ("integer", 3.99, 3), ("integer", True, 1),
    ("integer", " 42 ", 42), ("integer", "0x1A", 26), ("integer", "1e3", 1000), ("integer", 7, 7),
    ("integer_eu", "1.234,5", 1234), ("float", "1,234.5", 1234.5), ("float", 2, 2.0),
    ("float", False, 0.0), ("float", "-0.5", -0.5), ("float_eu", "1.234,5", 1234.5), ("string", 12, "12"),
    ("string", True, "true"), ("string", 1.5, "1.5"), ("boolean", "yes", True), ("boolean", "F", False),
    ("boolean", "", False), ("boolean", 1, True), ("boolean", "maybe", "maybe"),
])
def test_convert(kind: str, value: Any, expected: Any) -> None:
    event = run(f'convert => {{ "f" => "{kind}" }}', {"f": value})
    assert event.get("f") == expected and type(event.get("f")) is type(expected)
    assert "_mutate_error" not in event.tags


def test_convert_arrays_hashes_and_nulls() -> None:
    event = run('convert => { "a" => "integer" "h" => "integer" "n" => "integer" "[x][y]" => "float" }',
                {"a": ["1", None, "3"], "h": {"x": "1"}, "n": None, "x": {"y": "2.5"}})
    assert event.get("a") == [1, None, 3] and event.get("h") == {"x": "1"} and event.get("n") is None
    assert event.get("[x][y]") == 2.5


@pytest.mark.parametrize("value", ["abc", "1.2.3x", "inf"])
def test_convert_failure_tags_and_keeps_value(value: str) -> None:
    event = run('convert => { "f" => "float" } add_tag => ["ok"] uppercase => ["u"]', {"f": value, "u": "x"})
    assert event.get("f") == value
    assert event.tags == ["_mutate_error"]  # no add_tag: the rest of the block is skipped
    assert event.get("u") == "x"


def test_integer_from_text_fails_visibly_instead_of_zero() -> None:
    event = run('convert => { "f" => "integer" } tag_on_failure => "bad"', {"f": "n/a"})
    assert event.tags == ["bad"] and event.get("f") == "n/a"


def test_convert_rejects_unknown_type() -> None:
    with pytest.raises(ConfigError, match="expected one of"):
        build_plugin("filter", 'mutate { convert => { "a" => "long" } }')


def test_gsub_ruby_regex_and_backrefs() -> None:
    event = run(r'gsub => ["path", "/", "_", "msg", "(?<num>\d+)", "<\k<num>>", "arr", "\s+", " ", '
                r'"dyn", "%{needle}", "X", "num", "1", "2", "grp", "(\w)-(\w)", "\2-\1"]',
                {"path": "a/b/c", "msg": "a1b22", "arr": ["x  y", 5], "dyn": "foo bar",
                 "needle": "o+", "num": 1, "grp": "a-b c-d"})
    assert event.get("path") == "a_b_c"
    assert event.get("msg") == "a<1>b<22>"
    assert event.get("arr") == ["x y", 5]
    assert event.get("dyn") == "fX bar"
    assert event.get("num") == 1  # not a string: left alone
    assert event.get("grp") == "b-a d-c"


def test_gsub_bad_config() -> None:
    with pytest.raises(ConfigError, match="triples"):
        build_plugin("filter", 'mutate { gsub => ["a", "b"] }')
    with pytest.raises(ConfigError, match="invalid regular expression"):
        build_plugin("filter", 'mutate { gsub => ["a", "(", "x"] }')


def test_case_and_strip() -> None:
    event = run('uppercase => ["u"] lowercase => ["l"] capitalize => ["c"] strip => ["s", "sa"]',
                {"u": ["ab", 1], "l": "AbC", "c": "hELLO world", "s": "  x \t", "sa": [" a ", "b "]})
    assert event.get("u") == ["AB", 1] and event.get("l") == "abc" and event.get("c") == "Hello world"
    assert event.get("s") == "x" and event.get("sa") == ["a", "b"]


def test_split_join_like_ruby() -> None:
    event = run('split => { "s" => "," "w" => " " "n" => "," } join => { "j" => "|" "notlist" => "|" }',
                {"s": "a,,b,,", "w": "  a  b ", "n": 5, "j": ["a", [1, [True]]], "notlist": "x"})
    assert event.get("s") == ["a", "", "b"]  # trailing empty parts dropped, as Ruby's split
    assert event.get("w") == ["a", "b"]
    assert event.get("n") == 5
    assert event.get("j") == "a|1|true" and event.get("notlist") == "x"


def test_merge() -> None:
    event = run('merge => { "arr" => "s" "s2" => "s" "h" => "h2" "x" => "absent" }',
                {"arr": ["a"], "s": "b", "s2": "c", "h": {"k": 1}, "h2": {"j": 2}, "x": "x"})
    assert event.get("arr") == ["a", "b"] and event.get("s2") == ["c", "b"]
    assert event.get("h") == {"k": 1, "j": 2}
    assert event.get("x") == ["x"]  # as Logstash: merging nothing still makes an array
    assert "_mutate_error" not in event.tags


def test_merge_hash_with_string_fails_visibly() -> None:
    event = run('merge => { "bad" => "h" }', {"bad": "v", "h": {"j": 2}})
    assert event.tags == ["_mutate_error"] and event.get("bad") == "v"


def test_copy_is_deep_and_skips_missing() -> None:
    event = run('copy => { "h" => "[c][h]" "absent" => "nothing" }', {"h": {"k": [1]}})
    event.get("h")["k"].append(2)
    assert event.get("[c][h]") == {"k": [1]} and not event.includes("nothing")


def test_fixed_order_and_common_options() -> None:
    # Options are written in the "wrong" order: rename, split, join still run in Logstash's order,
    # and add_field/remove_field/add_tag run after all of them.
    event = run('add_field => { "first" => "%{[parts][0]}" } join => { "parts" => "-" } '
                'split => { "parts" => "." } rename => { "host" => "parts" } remove_field => ["tmp"] '
                'add_tag => ["mutated"]', {"host": "web.example.org", "tmp": 1})
    assert event.get("parts") == "web-example-org"
    assert event.get("first") == "%{[parts][0]}"  # common options run after join: no [parts][0] any more
    assert not event.includes("tmp") and event.has_tag("mutated")


def test_remove_field_fast_path_keeps_nested_semantics() -> None:
    event = run('remove_field => ["a", "[b][c]"]', {"a": 1, "b": {"c": 2, "d": 3}})
    assert not event.includes("a") and event.get("b") == {"d": 3}


def test_copy_then_convert_order() -> None:
    # convert runs before copy: the copy gets the converted value.
    event = run('copy => { "n" => "m" } convert => { "n" => "integer" }', {"n": "5"})
    assert event.get("m") == 5


def test_remove_tag_and_sprintf_remove_field() -> None:
    [event] = run_filters('mutate { remove_tag => ["old"] remove_field => ["%{which}"] add_tag => ["new"] }',
                          [{"tags": ["old", "keep"], "which": "x", "x": 1}])
    assert event.tags == ["keep", "new"] and not event.includes("x")


def test_gsub_unicode_properties_and_posix_classes() -> None:
    event = run(r'gsub => ["cjk", "\p{Han}+", "X", "p", "[[:digit:]]+", "N"]', {"cjk": "ab中文cd", "p": "a12b"})
    assert event.get("cjk") == "abXcd" and event.get("p") == "aNb"


def test_add_field_values_are_strings_as_logstash_sprintfs_them() -> None:
    # Logstash's Decorators.add_fields runs v = event.sprintf(v) on every value: 5 -> "5", [1, "x"] -> ["1", "x"].
    [event] = run_filters('mutate { add_field => { "n" => 5 "f" => 1.5 "l" => [1, "x"] } }', [{"n": 1}])
    assert event.get("n") == [1, "5"]
    assert event.get("f") == "1.5" and event.get("l") == ["1", "x"]
