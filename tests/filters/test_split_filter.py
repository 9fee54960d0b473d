"""split: strings by terminator, arrays by element, target, and the type failure tag."""

from __future__ import annotations

from pipeline.testing import run_filters


def test_split_string_lines() -> None:
    out = run_filters('split { add_tag => ["piece"] }', [{"message": "a\nb\n\nc", "x": 1}])
    assert [e.get("message") for e in out] == ["a", "b", "c"]
    assert all(e.get("x") == 1 and e.has_tag("piece") for e in out)


def test_split_custom_terminator_and_target() -> None:
    out = run_filters('split { field => "list" terminator => "," target => "item" }', [{"list": "x,y"}])
    assert [(e.get("item"), e.get("list")) for e in out] == [("x", "x,y"), ("y", "x,y")]


def test_split_array() -> None:
    out = run_filters('split { field => "[a][b]" }', [{"a": {"b": [1, {"k": 2}]}}])
    assert [e.get("[a][b]") for e in out] == [1, {"k": 2}]
    out = run_filters('split { field => "arr" target => "one" }', [{"arr": ["p", "q"]}])
    assert [(e.get("one"), e.get("arr")) for e in out] == [("p", ["p", "q"]), ("q", ["p", "q"])]


def test_no_terminator_leaves_event_alone() -> None:
    [event] = run_filters('split { add_tag => ["piece"] }', [{"message": "single"}])
    assert event.get("message") == "single" and event.tags == []


def test_non_splittable_is_tagged() -> None:
    out = run_filters('split { field => "n" }', [{"n": 5}, {}])
    assert all(e.tags == ["_split_type_failure"] for e in out) and len(out) == 2


def test_following_filters_see_each_piece() -> None:
    out = run_filters('split { } mutate { uppercase => ["message"] }', [{"message": "a\nb"}])
    assert [e.get("message") for e in out] == ["A", "B"]
