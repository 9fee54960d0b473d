"""json filter: root merge, target, arrays/scalars, invalid JSON and @timestamp handling."""

from __future__ import annotations

from typing import Any

from pipeline.event import Event
from pipeline.testing import run_filters


def run(config: str, fields: dict[str, Any]) -> Event:
    [event] = run_filters(f"json {{ {config} }}", [fields])
    return event


def test_object_merged_into_root() -> None:
    event = run('source => "message" add_tag => ["parsed"]', {"message": '{"a": 1, "b": {"c": [1, 2]}}'})
    assert event.get("a") == 1 and event.get("[b][c]") == [1, 2] and event.has_tag("parsed")


def test_target() -> None:
    event = run('source => "message" target => "[doc][body]"', {"message": '{"a": 1}'})
    assert event.get("[doc][body]") == {"a": 1} and not event.includes("a")


def test_array_and_scalar_with_target() -> None:
    assert run('source => "m" target => "t"', {"m": "[1, 2]"}).get("t") == [1, 2]
    assert run('source => "m" target => "t"', {"m": '"text"'}).get("t") == "text"


def test_array_without_target_is_tagged() -> None:
    event = run('source => "m"', {"m": "[1, 2]"})
    assert event.tags == ["_jsonparsefailure"] and event.get("m") == "[1, 2]"


def test_invalid_json_tagged_or_skipped() -> None:
    event = run('source => "m" add_tag => ["parsed"]', {"m": "{not json"})
    assert event.tags == ["_jsonparsefailure"] and event.get("m") == "{not json"
    assert run('source => "m" skip_on_invalid_json => true', {"m": "{not json"}).tags == []
    assert run('source => "m" tag_on_failure => ["bad"]', {"m": ""}).tags == ["bad"]


def test_non_string_source_is_tagged_and_missing_is_ignored() -> None:
    assert run('source => "m"', {"m": {"already": "object"}}).tags == ["_jsonparsefailure"]
    assert run('source => "m" add_tag => ["x"]', {"other": 1}).tags == []


def test_timestamp_in_json() -> None:
    event = run('source => "m"', {"m": '{"@timestamp": "2020-01-02T03:04:05.678Z", "a": 1}'})
    assert event.timestamp.iso() == "2020-01-02T03:04:05.678Z"
    bad = run('source => "m"', {"m": '{"@timestamp": "yesterday", "a": 1}'})
    assert bad.get("_@timestamp") == "yesterday" and "_timestampparsefailure" in bad.tags
    assert bad.get("a") == 1
