"""json_encode: source, target; _jsongeneratefailure."""

from __future__ import annotations

import json

from pipeline.testing import run_filters


def test_encodes_into_target_compactly() -> None:
    [event] = run_filters('json_encode { source => "doc" target => "doc_json" add_tag => ["enc"] }',
                          [{"doc": {"user": "é", "ids": [1, 2.5, None, True]}, "@timestamp": "2024-01-02T03:04:05Z"}])
    assert event.get("doc_json") == '{"user":"é","ids":[1,2.5,null,true]}' and event.tags == ["enc"]


def test_replaces_the_source_without_target_and_encodes_timestamps() -> None:
    [event] = run_filters('json_encode { source => "@metadata" }', [{"@metadata": {"when": "x"}}])
    assert json.loads(event.get("@metadata")) == {"when": "x"}
    [stamped] = run_filters('json_encode { source => "@timestamp" target => "ts" }', [{"@timestamp": "2024-01-02T03:04:05Z"}])
    assert stamped.get("ts") == '"2024-01-02T03:04:05.000Z"'


def test_missing_source_becomes_null_as_in_logstash() -> None:
    [event] = run_filters('json_encode { source => "nope" target => "out" }', [{}])
    assert event.get("out") == "null"


def test_unencodable_values_are_tagged() -> None:
    [event] = run_filters('json_encode { source => "big" target => "out" }', [{"big": 2**70}])
    assert event.tags == ["_jsongeneratefailure"] and event.get("out") is None
