"""translate: inline and file dictionaries, exact/regex/substring, fallback, override, refresh."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.testing import build_plugin, run_filters


def test_inline_exact_with_target_and_fallback() -> None:
    out = run_filters('translate { source => "code" target => "text" dictionary => { "200" => "OK" "404" => "Not Found" } '
                      'fallback => "unknown %{code}" add_tag => ["tr"] }', [{"code": 200}, {"code": "404"}, {"code": 5}])
    assert [e.get("text") for e in out] == ["OK", "Not Found", "unknown 5"]
    assert all(e.has_tag("tr") for e in out)


def test_no_match_no_fallback_leaves_event() -> None:
    [event] = run_filters('translate { source => "c" target => "t" dictionary => { "a" => "b" } add_tag => ["tr"] }',
                          [{"c": "z"}])
    assert not event.includes("t") and event.tags == []


def test_legacy_names_and_ecs_default_target() -> None:
    [legacy] = run_filters('translate { field => "c" destination => "d" dictionary => { "a" => "A" } }', [{"c": "a"}])
    assert legacy.get("d") == "A"
    [old_default] = run_filters('translate { source => "c" dictionary => { "a" => "A" } ecs_compatibility => disabled }',
                                [{"c": "a"}])
    assert old_default.get("translation") == "A"
    [in_place] = run_filters('translate { source => "c" dictionary => { "a" => "A" } }', [{"c": "a"}])
    assert in_place.get("c") == "A"


def test_override() -> None:
    config = 'source => "c" target => "t" dictionary => { "a" => "A" }'
    [kept] = run_filters(f"translate {{ {config} }}", [{"c": "a", "t": "old"}])
    [replaced] = run_filters(f"translate {{ {config} override => true }}", [{"c": "a", "t": "old"}])
    assert kept.get("t") == "old" and replaced.get("t") == "A"


def test_regex_exact() -> None:
    out = run_filters('translate { source => "x" target => "t" regex => true '
                      'dictionary => { "^err.*" => "error" "^w" => "warn" } }', [{"x": "error: boom"}, {"x": "warning"}])
    assert [e.get("t") for e in out] == ["error", "warn"]


def test_substring_replacement() -> None:
    [event] = run_filters('translate { source => "x" target => "t" exact => false '
                          'dictionary => { "a" => "alpha" "b" => "beta" } }', [{"x": "a-b-c"}])
    assert event.get("t") == "alpha-beta-c"


def test_array_source_and_iterate_on() -> None:
    [first] = run_filters('translate { source => "x" target => "t" dictionary => { "a" => "A" } }', [{"x": ["a", "b"]}])
    assert first.get("t") == "A"
    [each] = run_filters('translate { source => "x" iterate_on => "x" target => "t" dictionary => { "a" => "A" } }',
                         [{"x": ["a", "b"]}])
    assert each.get("t") == ["A", None] and each.get("x") == ["a", "b"]
    [fallback] = run_filters('translate { source => "[ids]" iterate_on => "[ids]" target => "[names]" '
                             'dictionary => { "100" => "Yuki" "102" => "Ahmed" } fallback => "Unknown" }',
                             [{"ids": [100, 110, 102]}])
    assert fallback.get("names") == ["Yuki", "Unknown", "Ahmed"]


@pytest.mark.parametrize(("name", "content"), [
    ("d.yml", '"200": OK\n404: Not Found\n'),
    ("d.json", json.dumps({"200": "OK", "404": "Not Found"})),
    ("d.csv", "200,OK\n404,Not Found\n"),
])
def test_dictionary_files(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    out = run_filters(f'translate {{ source => "c" target => "t" dictionary_path => "{path}" }}',
                      [{"c": "200"}, {"c": 404}])
    assert [e.get("t") for e in out] == ["OK", "Not Found"]


@pytest.mark.parametrize("behaviour", ["merge", "replace"])
def test_refresh(tmp_path: Path, behaviour: str) -> None:
    path = tmp_path / "d.yml"
    path.write_text("a: one\nb: two\n")
    plugin = build_plugin("filter", f'translate {{ source => "c" target => "t" dictionary_path => "{path}" '
                                    f'refresh_interval => 0.05 refresh_behaviour => "{behaviour}" }}')
    path.write_text("a: uno\n")
    time.sleep(0.1)
    events = [Event({"c": "a"}), Event({"c": "b"})]
    for event in events:
        plugin.filter(event)
    assert events[0].get("t") == "uno"
    assert events[1].get("t") == ("two" if behaviour == "merge" else None)


def test_refresh_keeps_old_dictionary_when_file_breaks(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text('{"a": "one"}')
    plugin = build_plugin("filter", f'translate {{ source => "c" target => "t" dictionary_path => "{path}" '
                                    'refresh_interval => 0.05 }')
    path.write_text("{broken")
    time.sleep(0.1)
    event = Event({"c": "a"})
    plugin.filter(event)
    assert event.get("t") == "one"


@pytest.mark.parametrize(("config", "message"), [
    ('translate { source => "c" }', "dictionary"),
    ('translate { source => "c" dictionary => { "a" => "b" } dictionary_path => "/x.yml" }', "not both"),
    ('translate { source => "c" dictionary_path => "/nonexistent/d.yml" }', "cannot read"),
    ('translate { source => "c" dictionary_path => "/etc/hostname" }', "must end in"),
    ('translate { source => "c" regex => true dictionary => { "(" => "b" } }', "regex"),
])
def test_config_errors(config: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_plugin("filter", config)


def test_iterate_on_array_of_objects() -> None:
    [event] = run_filters('translate { iterate_on => "[users]" source => "code" target => "role" '
                          'dictionary => { "1" => "admin" } fallback => "guest" }',
                          [{"users": [{"code": 1}, {"code": 2}, "not an object", {"name": "no code"}]}])
    assert event.get("users") == [{"code": 1, "role": "admin"}, {"code": 2, "role": "guest"}, "not an object",
                                  {"name": "no code"}]


def test_yaml_code_point_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    path.write_text("a: " + "x" * 100 + "\n")
    with pytest.raises(ConfigError, match="yaml_dictionary_code_point_limit"):
        build_plugin("filter", f'translate {{ source => "c" dictionary_path => "{path}" '
                               'yaml_dictionary_code_point_limit => 50 }')
