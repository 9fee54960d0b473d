"""The capture setter generated per pattern: the same fields, in the same order, as the general rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.event import Event
from pipeline.grok.setter import Target, compile_setter
from pipeline.testing import build_plugin

STAMP = "2015-05-17T10:05:03Z"


def _general(event: Event, grok, pattern, groups: tuple) -> None:
    """What the filter did before the setter: the general rules, capture by capture."""
    for capture in pattern.captures:
        value = groups[capture.index]
        if value is None or value == "":
            if not grok.keep_empty:
                continue
        elif capture.convert is not None:
            value = capture.convert(value)
        grok._apply_capture(event, capture, value)


@pytest.mark.parametrize("mode", ["v8", "disabled"])
@pytest.mark.parametrize("existing", [{}, {"http": {"version": "0.9"}, "url": "x", "verb": "GET", "source": [1]}])
def test_every_apache_line_gets_what_the_general_rules_give(shared_data: Path, mode: str, existing: dict) -> None:
    grok = build_plugin("filter", f'grok {{ match => {{ "message" => "%{{COMBINEDAPACHELOG}}" }} '
                                  f"ecs_compatibility => {mode} }}")
    pattern = grok.matches[0][1][0]
    lines = (shared_data / "access" / "apache_logs").read_text(encoding="utf-8").splitlines()
    for line in lines:
        found = pattern.fast_search(line)
        if found is None:
            continue
        ours = Event({"message": line, "@timestamp": STAMP, **json.loads(json.dumps(existing))})
        reference = Event({"message": line, "@timestamp": STAMP, **json.loads(json.dumps(existing))})
        pattern.setter(ours, ours.data, found.groups())
        _general(reference, grok, pattern, found.groups())
        # same values and the same key order (what an output writes)
        assert json.dumps(ours.data, default=str) == json.dumps(reference.data, default=str), line


def _set(targets: list[Target], groups: tuple, data: dict, keep_empty: bool = False) -> tuple[dict, list]:
    unusual: list = []
    setter = compile_setter(targets, keep_empty, lambda event, number, value: unusual.append((number, value)))
    setter(None, data, groups)
    return data, unusual


def test_new_fields_are_nested_in_capture_order_and_empty_captures_skipped() -> None:
    targets = [Target(0, ("http", "request", "method"), None, False), Target(1, ("user", "name"), None, False),
               Target(2, ("http", "version"), None, False), Target(3, ("http", "response", "code"), "int", False)]
    data, unusual = _set(targets, ("GET", None, "", "404"), {"message": "m"})
    assert data == {"message": "m", "http": {"request": {"method": "GET"}, "response": {"code": 404}}}
    assert list(data["http"]) == ["request", "response"] and unusual == []


def test_ruby_conversions_for_text_int_rejects() -> None:
    targets = [Target(0, ("a",), "int", False), Target(1, ("b",), "float", False)]
    data, _ = _set(targets, ("3.7", "1.5x"), {})
    assert data == {"a": 3, "b": 1.5}


def test_existing_values_and_non_hashes_on_the_way_go_to_the_general_rules() -> None:
    targets = [Target(0, ("a", "b"), None, False), Target(1, ("c",), None, False), Target(2, ("d", "e"), None, False)]
    data, unusual = _set(targets, ("1", "2", "3"), {"a": {"b": "old"}, "c": "old", "d": ["list"]})
    assert unusual == [(0, "1"), (1, "2"), (2, "3")]
    assert data == {"a": {"b": "old"}, "c": "old", "d": ["list"]}  # untouched: the fallback decides


def test_overwrite_replaces_and_keep_empty_sets_empty_text() -> None:
    targets = [Target(0, ("a", "b"), None, True), Target(1, ("c",), "int", False)]
    data, unusual = _set(targets, ("new", ""), {"a": {"b": "old"}, "x": 1}, keep_empty=True)
    assert data == {"a": {"b": "new"}, "x": 1, "c": ""} and unusual == []


def test_captures_into_one_field_or_its_parent_never_take_the_new_event_shortcut() -> None:
    targets = [Target(0, ("a",), None, False), Target(1, ("a",), None, False)]
    data, unusual = _set(targets, ("1", "2"), {})
    assert data == {"a": "1"} and unusual == [(1, "2")]  # the general rules make the array
    targets = [Target(0, ("a",), None, False), Target(1, ("a", "b"), None, False)]
    data, unusual = _set(targets, ("1", "2"), {})
    assert data == {"a": "1"} and unusual == [(1, "2")]


def test_timestamp_captures_always_use_the_general_rules() -> None:
    data, unusual = _set([Target(0, ("@timestamp",), None, False, generic=True)], ("2024-01-01",), {})
    assert data == {} and unusual == [(0, "2024-01-01")]


def test_odd_field_names_are_plain_strings_in_the_generated_code() -> None:
    name = "it's \"odd\"\n{}"
    data, _ = _set([Target(0, (name, name), None, False)], ("v",), {})
    assert data == {name: {name: "v"}}


def test_setters_of_the_same_code_share_its_compilation_but_not_their_fallback() -> None:
    calls: list[str] = []
    targets = [Target(0, ("a",), None, False), Target(1, ("b", "c"), None, False)]
    first = compile_setter(targets, False, lambda event, number, value: calls.append(f"first {value}"))
    second = compile_setter(targets, False, lambda event, number, value: calls.append(f"second {value}"))
    assert first is not second and first.__code__ is second.__code__  # compiled once (a worker's start)
    for setter in (first, second):
        event = Event({})
        setter(event, event.data, ("x", "y"))
        assert event.data["a"] == "x" and event.data["b"] == {"c": "y"}
