"""mutate: every operation, Logstash's order, conversions and the failure tag."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.plugin import build_from_dict


def run(options: dict[str, Any], fields: dict[str, Any]) -> Event:
    plugin = build_from_dict("filter", "mutate", options)
    plugin.register()
    event = Event(fields)
    plugin.filter(event)
    return event


def test_rename_replace_update_coerce() -> None:
    event = run({"rename": {"a": "[b][c]", "missing": "x"}, "replace": {"r": "%{[b][c]}!"},
                 "update": {"u": "new", "absent": "nope"}, "coerce": {"n": "default", "a2": "d"}},
                {"a": "A", "u": "old", "n": None, "a2": "keep"})
    assert event.get("[b][c]") == "A" and not event.includes("a") and not event.includes("x")
    assert event.get("r") == "A!"
    assert event.get("u") == "new" and not event.includes("absent")
    assert event.get("n") == "default" and event.get("a2") == "keep"


def test_rename_with_sprintf_names() -> None:
    event = run({"rename": {"%{src}": "dst_%{src}"}}, {"src": "x", "x": 1})
    assert event.get("dst_x") == 1 and not event.includes("x")


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("integer", "1,234", 1234), ("integer", "12.7", 12), ("integer", 3.99, 3), ("integer", True, 1),
    ("integer", " 42 ", 42), ("integer", "0x1A", 26), ("integer", "1e3", 1000),
    ("integer_eu", "1.234,5", 1234), ("float", "1,234.5", 1234.5), ("float", 2, 2.0),
    ("float", False, 0.0), ("float_eu", "1.234,5", 1234.5), ("string", 12, "12"),
    ("string", True, "true"), ("boolean", "yes", True), ("boolean", "F", False), ("boolean", "", False),
    ("boolean", 1, True), ("boolean", "maybe", "maybe"),
])
def test_convert(kind: str, value: Any, expected: Any) -> None:
    event = run({"convert": {"f": kind}}, {"f": value})
    assert event.get("f") == expected and type(event.get("f")) is type(expected)
    assert "_mutate_error" not in event.tags


def test_convert_arrays_hashes_and_nulls() -> None:
    event = run({"convert": {"a": "integer", "h": "integer", "n": "integer"}},
                {"a": ["1", None, "3"], "h": {"x": "1"}, "n": None})
    assert event.get("a") == [1, None, 3] and event.get("h") == {"x": "1"} and event.get("n") is None


@pytest.mark.parametrize("value", ["abc", "1.2.3x", "inf"])
def test_convert_failure_tags_and_keeps_value(value: str) -> None:
    event = run({"convert": {"f": "float"}, "add_tag": ["ok"], "uppercase": ["u"]}, {"f": value, "u": "x"})
    assert event.get("f") == value
    assert event.tags == ["_mutate_error"]  # no add_tag, rest of the block skipped
    assert event.get("u") == "x"


def test_custom_failure_tag() -> None:
    assert run({"convert": {"f": "integer"}, "tag_on_failure": "bad"}, {"f": "x"}).tags == ["bad"]


def test_gsub_ruby_regex_and_backrefs() -> None:
    event = run({"gsub": ["path", "/", "_", "msg", r"(?<num>\d+)", r"<\k<num>>", "arr", r"\s+", " ",
                          "dyn", "%{needle}", "X", "num", "1", "2"]},
                {"path": "a/b/c", "msg": "a1b22", "arr": ["x  y", 5], "dyn": "foo bar",
                 "needle": "o+", "num": 1})
    assert event.get("path") == "a_b_c"
    assert event.get("msg") == "a<1>b<22>"
    assert event.get("arr") == ["x y", 5]
    assert event.get("dyn") == "fX bar"
    assert event.get("num") == 1  # not a string: left alone


def test_gsub_bad_config() -> None:
    with pytest.raises(ConfigError, match="triples"):
        build_from_dict("filter", "mutate", {"gsub": ["a", "b"]})
    with pytest.raises(ConfigError, match="invalid regular expression"):
        build_from_dict("filter", "mutate", {"gsub": ["a", "(", "x"]})


def test_case_and_strip() -> None:
    event = run({"uppercase": ["u"], "lowercase": ["l"], "capitalize": ["c"], "strip": ["s", "sa"]},
                {"u": ["ab", 1], "l": "AbC", "c": "hELLO world", "s": "  x \t", "sa": [" a ", "b "]})
    assert event.get("u") == ["AB", 1] and event.get("l") == "abc" and event.get("c") == "Hello world"
    assert event.get("s") == "x" and event.get("sa") == ["a", "b"]


def test_split_join_like_ruby() -> None:
    event = run({"split": {"s": ",", "w": " ", "n": ","}, "join": {"j": "|", "notlist": "|"}},
                {"s": "a,,b,,", "w": "  a  b ", "n": 5, "j": ["a", 1, True], "notlist": "x"})
    assert event.get("s") == ["a", "", "b"]
    assert event.get("w") == ["a", "b"]
    assert event.get("n") == 5
    assert event.get("j") == "a|1|true" and event.get("notlist") == "x"


def test_merge_and_copy() -> None:
    event = run({"merge": {"arr": "s", "s2": "s", "h": "h2", "bad": "h2", "x": "absent"},
                 "copy": {"h": "[c][h]", "absent": "nothing"}},
                {"arr": ["a"], "s": "b", "s2": "c", "h": {"k": 1}, "h2": {"j": 2}, "bad": "v", "x": "x"})
    assert event.get("arr") == ["a", "b"] and event.get("s2") == ["c", "b"]
    assert event.get("h") == {"k": 1, "j": 2}
    assert event.get("x") == "x"
    assert "_mutate_error" in event.tags  # a string merged with a hash fails visibly


def test_copy_is_deep() -> None:
    event = run({"copy": {"h": "[c][h]"}}, {"h": {"k": [1]}})
    event.get("h")["k"].append(2)
    assert event.get("[c][h]") == {"k": [1]} and not event.includes("nothing")


def test_fixed_order_and_common_options() -> None:
    # split runs before join and after rename/replace regardless of option order; add_field sees the result.
    event = run({"add_field": {"first": "%{[parts][0]}"}, "join": {"parts": "-"}, "split": {"parts": "."},
                 "rename": {"host": "parts"}, "remove_field": ["tmp"], "add_tag": ["mutated"]},
                {"host": "web.example.org", "tmp": 1})
    assert event.get("parts") == "web-example-org"
    assert event.get("first") == "%{[parts][0]}"  # common options run after join: no [parts][0] left
    assert not event.includes("tmp") and event.has_tag("mutated")


def test_convert_rejects_unknown_type() -> None:
    with pytest.raises(ConfigError, match="expected one of"):
        build_from_dict("filter", "mutate", {"convert": {"a": "long"}})
