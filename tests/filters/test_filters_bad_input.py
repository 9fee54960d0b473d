"""Bad input never raises out of a filter: odd types, empty, huge and malformed values are tagged or ignored."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from pipeline.event import Event
from pipeline.testing import build_plugin

VALUES = [None, "", "a", "1,2", "é" * 10, {"x": 1}, [1, "a", None, {"y": [1]}], 3.5, True, -7, "[a][b]=c",
          "%{x}", '{"@timestamp": 5}', "2020-01-01T00:00:00Z", "\x00\xff", "a=" * 50, "[[[", "1" * 400]

CONFIGS = [
    r'mutate { convert => { "f" => "integer" "g" => "float" "h" => "boolean" } gsub => ["f", "\d", "x"] '
    r'uppercase => ["f"] split => { "f" => "," } join => { "g" => "," } merge => { "f" => "g" } '
    r'copy => { "f" => "[c][d]" } strip => ["h"] }',
    'date { match => ["f", "ISO8601", "UNIX", "UNIX_MS", "TAI64N", "dd/MMM/yyyy:HH:mm:ss Z", "MMM dd HH:mm:ss"] '
    'timezone => "%{g}" }',
    'json { source => "f" }',
    'json { source => "f" target => "parsed" }',
    'kv { source => "f" recursive => true }',
    'dissect { mapping => { "f" => "%{a} %{+a} %{?k}=%{&k}" } convert_datatype => { "a" => "int" } }',
    'fingerprint { source => ["f", "g"] }',
    'fingerprint { method => "IPV4_NETWORK" key => "8" source => "f" }',
    'fingerprint { concatenate_all_fields => true }',
    'useragent { source => "f" }',
    'throttle { key => "%{f}" after_count => 1 period => "%{g}" }',
    'split { field => "f" }',
    'clone { clones => ["x"] }',
    'truncate { length_bytes => 3 }',
    'prune { whitelist_values => { "f" => "^a" } interpolate => true whitelist_names => ["%{g}", "^f$"] }',
]


@pytest.mark.parametrize("config", CONFIGS, ids=[c.split()[0] + str(i) for i, c in enumerate(CONFIGS)])
def test_no_exception_escapes(config: str) -> None:
    plugin = build_plugin("filter", config)
    for f, g in itertools.product(VALUES, VALUES[:8]):
        event = Event({"f": f, "g": g, "h": f}, copy_data=True)
        plugin.filter(event)  # must not raise
        assert event.includes("@timestamp")


def test_translate_with_odd_values(tmp_path: Path) -> None:
    path = tmp_path / "d.yml"
    path.write_text("a: b\n")
    plugin = build_plugin("filter", f'translate {{ source => "f" dictionary_path => "{path}" exact => false }}')
    for value in VALUES:
        plugin.filter(Event({"f": value}, copy_data=True))
