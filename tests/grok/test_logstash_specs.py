"""Logstash's own grok specs, replayed against our grok filter.

The cases in logstash_specs/*.json were extracted from logstash-plugins/logstash-patterns-core
(spec/patterns/*_spec.rb) and logstash-plugins/logstash-filter-grok (spec/filters/grok_spec.rb)
by extract_logstash_specs.rb (Apache-2.0 test vectors; repository and commit are recorded in each
file). Each case is one RSpec example: the grok runs it makes (config, event, ECS mode) and the
expectations on their result, evaluated here with RSpec's matching rules. Known, deliberate
differences and the timing-dependent timeout specs (not replayed) are listed in
logstash_specs/known_differences.json with the reason.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.plugin import PluginContext, PluginSpec, build

SPECS = Path(__file__).parent / "logstash_specs"
_LISTS = json.loads((SPECS / "known_differences.json").read_text())
KNOWN: dict[str, str] = _LISTS["differences"]
TIMING: dict[str, str] = _LISTS["timing_dependent"]
_MISSING = object()


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(SPECS.glob("logstash-*.json")):
        data = json.loads(path.read_text())
        seen: dict[str, int] = {}
        for case in data["cases"]:
            name = f"{case['file']}: {case['example']}"
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name} #{seen[name]}"
            params.append(pytest.param(case, id=name))
    return params


ALL_CASES = _load_cases()
CASES = [case for case in ALL_CASES if case.id not in TIMING]


def _mode(ecs: str | None) -> str:
    # The specs ran with the plugin default of their Logstash (7.x: legacy names) when no mode is set.
    return {None: "disabled", "legacy": "disabled", "ecs-v1": "v1"}.get(ecs, ecs or "disabled")


_PLUGINS: dict[str, Any] = {}


def _grok(run: dict[str, Any]) -> Any:
    """The registered grok filter of this run (built once per config: the cases share many)."""
    key = json.dumps([run["config"], run["ecs_compatibility"]], sort_keys=True)
    if key not in _PLUGINS:
        _PLUGINS[key] = _build(run)
    return _PLUGINS[key]


def _build(run: dict[str, Any]) -> Any:
    options = dict(run["config"])
    match = options.get("match")
    if isinstance(match, list):  # Logstash's flat array form ["field", "pattern", ...]
        options["match"] = {match[i]: match[i + 1] for i in range(0, len(match), 2)}
    options.setdefault("ecs_compatibility", _mode(run["ecs_compatibility"]))
    context = PluginContext(path_data=Path(tempfile.mkdtemp(prefix="grok-spec-")))
    plugin = build(PluginSpec.of("filter", "grok", options), context)
    plugin.register()
    return plugin


def run_grok(run: dict[str, Any]) -> Event:
    """The event after the grok of this run."""
    plugin = _grok(run)
    event = Event({"@version": "1", **run["event"]}, copy_data=True)  # as LogStash::Event.new
    plugin.filter(event)
    return event


def _ruby_to_s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return f"{value:.1f}"
    return str(value)


def follow(result: Event, path: list[list[Any]]) -> Any:
    """Apply the recorded accesses (to_hash, get, [], keys, ...) to the event, as Ruby would."""
    value: Any = result
    for op, *args in path:
        if op == "to_hash":
            value = value.to_dict() if isinstance(value, Event) else value
        elif op == "get" or (op == "[]" and isinstance(value, Event)):
            value = value.get(args[0])
        elif op == "[]":
            key = args[0]
            if isinstance(value, dict):
                value = value.get(key)
            elif isinstance(value, list) and isinstance(key, int):
                value = value[key] if -len(value) <= key < len(value) else None
            else:
                raise AssertionError(f"{value!r}[{key!r}] would raise in Ruby")
        elif op == "keys":
            if not isinstance(value, dict):
                raise AssertionError(f"{value!r}.keys would raise in Ruby")
            value = list(value)
        elif op == "to_s":
            value = _ruby_to_s(value)
        elif op == "to_i":
            value = int(value)
        elif op == "include?":
            value = args[0] in value if value is not None else False
        elif op == "size":
            value = len(value)
        else:
            raise AssertionError(f"unknown access {op}")
    return value


def values_match(expected: Any, actual: Any) -> bool:
    """RSpec's fuzzy equality (values_match?): nested hashes/arrays compared member by member."""
    if isinstance(expected, dict) and set(expected) == {"$hash_including"}:
        wanted = expected["$hash_including"]
        return isinstance(actual, dict) and all(k in actual and values_match(v, actual[k])
                                                for k, v in wanted.items())
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and set(expected) == set(actual)
                and all(values_match(v, actual[k]) for k, v in expected.items()))
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(values_match(e, a) for e, a in zip(expected, actual, strict=True)))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


def _includes(actual: Any, item: Any) -> bool:
    if isinstance(actual, dict):
        if isinstance(item, dict):
            return all(k in actual and values_match(v, actual[k]) for k, v in item.items())
        return item in actual
    if isinstance(actual, list):
        return any(values_match(item, element) for element in actual)
    if isinstance(actual, str):
        return isinstance(item, str) and item in actual
    return False


def holds(matcher: str, args: list[Any], actual: Any) -> bool:
    if matcher == "eq":
        return values_match(args[0], actual)
    if matcher == "include":
        return all(_includes(actual, item) for item in args)
    if matcher == "pass":
        return isinstance(actual, dict) and "tags" not in actual
    if matcher == "only_keys":
        return isinstance(actual, dict) and set(actual) <= set(args[0]) | {"@timestamp", "@version"}
    if matcher == "have_key":
        return isinstance(actual, dict) and args[0] in actual
    if matcher == "empty":
        return not actual
    if matcher == "truthy":
        return actual is not None and actual is not False
    if matcher == "falsey":
        return actual is None or actual is False
    if matcher == "start_with":
        return isinstance(actual, str) and actual.startswith(args[0])
    if matcher == "end_with":
        return isinstance(actual, str) and actual.endswith(args[0])
    if matcher == "type":
        ruby = {"String": str, "Integer": int, "Float": float, "Hash": dict, "Array": list}
        return isinstance(actual, ruby.get(args[0], type(None)))
    raise AssertionError(f"unknown matcher {matcher}")


def failures(case: dict[str, Any]) -> list[str]:
    """What does not hold for this case (empty when it passes)."""
    results: list[Any] = []
    for run in case["runs"]:
        try:
            results.append(run_grok(run))
        except (ConfigError, ValueError, TypeError) as exc:  # a config Logstash accepts must not be rejected
            results.append(exc)
    problems = []
    for check in case["checks"]:
        result = results[check["run"]]
        run = case["runs"][check["run"]]
        if isinstance(result, Exception):
            problems.append(f"grok {run['config']} failed to build: {type(result).__name__}: {result}")
            continue
        try:
            actual: Any = follow(result, check["path"])
            if isinstance(actual, Event):  # RSpec matchers see Event#include? etc.: its fields
                actual = actual.to_dict()
            ok = holds(check["matcher"], check["args"], actual)
        except (AssertionError, TypeError, ValueError, KeyError, IndexError) as exc:
            actual, ok = f"<{exc}>", False
        if ok == check["negated"]:
            expectation = ("not " if check["negated"] else "") + check["matcher"]
            problems.append(f"{check['path']} {expectation} {check['args']!r}: got {actual!r}\n"
                            f"    (input {run['event']!r}, grok {run['config']!r})")
    return problems


@pytest.mark.parametrize("case", CASES)
def test_logstash_spec_case(case: dict[str, Any], request: pytest.FixtureRequest) -> None:
    name = request.node.callspec.id
    problems = failures(case)
    if name in KNOWN:
        assert problems, f"listed as a known difference but now passes: remove it ({KNOWN[name]})"
        return
    assert not problems, "\n".join(problems)


def test_known_differences_name_existing_cases() -> None:
    ids = {param.id for param in ALL_CASES}
    listed = set(KNOWN) | set(TIMING)
    assert not listed - ids, f"known_differences.json names cases that no longer exist: {listed - ids}"
    assert len(TIMING) <= 3, "only the timeout specs may be left out"


def test_specs_were_extracted_from_recorded_sources() -> None:
    for path in SPECS.glob("logstash-*.json"):
        data = json.loads(path.read_text())
        assert data["source"]["license"] == "Apache-2.0" and len(data["source"]["commit"]) == 40
        assert len(data["cases"]) > 50, f"{path.name}: too few cases extracted"
