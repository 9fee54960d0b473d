"""The YAML form loads into the same model as the Logstash language."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.config.ast import Branch, IfStatement, PipelineConfig
from pipeline.config.loader import parse_text, parse_yaml
from pipeline.errors import ConfigErrors, Location
from pipeline.plugin import PluginSpec


def without_locations(value):
    """The same structure with every Location blanked, to compare the two forms."""
    if isinstance(value, PluginSpec):
        return PluginSpec(value.kind, value.name,
                          tuple((k, without_locations(v), Location()) for k, v, _ in value.options))
    if isinstance(value, IfStatement):
        return IfStatement(tuple(Branch(b.condition, tuple(without_locations(s) for s in b.body))
                                 for b in value.branches))
    if isinstance(value, PipelineConfig):
        return dataclasses.replace(value, inputs=[without_locations(s) for s in value.inputs],
                                   filters=[without_locations(s) for s in value.filters],
                                   outputs=[without_locations(s) for s in value.outputs], sources=[])
    if isinstance(value, list):
        return [without_locations(v) for v in value]
    if isinstance(value, dict):
        return {k: without_locations(v) for k, v in value.items()}
    return value


CONF = """
input {
  beats { port => 5044 }
  stdin { codec => multiline { pattern => "^\\s" what => "previous" } tags => ["a", "b"] }
}
filter {
  grok { match => { "message" => "%{COMBINEDAPACHELOG}" } }
  if [status] >= 500 and "prod" in [tags] {
    mutate { add_tag => ["error"] }
  } else if [status] >= 400 {
    mutate { add_tag => ["warn"] replace => { "x" => "${LEVEL:info}" } }
  } else {
    drop {}
  }
}
output {
  if [@metadata][target] =~ /^alert/ { email { to => "ops@example.com" } }
  stdout { codec => rubydebug }
  file { path => "/tmp/out-%{+YYYY.MM.dd}.log" codec => json_lines { charset => "UTF-8" } }
}
"""

YAML = """
input:
  - beats: { port: 5044 }
  - stdin:
      codec: { multiline: { pattern: '^\\s', what: previous } }
      tags: [a, b]
filter:
  - grok: { match: { message: "%{COMBINEDAPACHELOG}" } }
  - if: '[status] >= 500 and "prod" in [tags]'
    then:
      - mutate: { add_tag: [error] }
    else_if:
      - condition: '[status] >= 400'
        then:
          - mutate: { add_tag: [warn], replace: { x: "${LEVEL:info}" } }
    else:
      - drop:
output:
  - if: '[@metadata][target] =~ /^alert/'
    then: [ { email: { to: ops@example.com } } ]
  - stdout: { codec: rubydebug }
  - file: { path: "/tmp/out-%{+YYYY.MM.dd}.log", codec: { json_lines: { charset: UTF-8 } } }
"""


def test_yaml_and_logstash_forms_give_the_same_config():
    from_text = parse_text(CONF, "p.conf", env={})
    from_yaml = parse_yaml(YAML, "p.yml", env={})
    assert without_locations(from_yaml) == without_locations(from_text)
    assert from_yaml.sources == ["p.yml"]


def test_yaml_locations_come_from_the_nodes():
    config = parse_yaml(YAML, "p.yml", env={})
    assert config.inputs[0].location == Location("p.yml", 3, 5)
    assert config.inputs[0].options[0][2] == Location("p.yml", 3, 14)
    statement = config.filters[1]
    assert statement.location.line == 9
    condition = statement.branches[0].condition
    assert condition.left.left.location == Location("p.yml", 9, 10)  # inside the quoted string


def test_yaml_keeps_native_types():
    config = parse_yaml("filter:\n  - x: { b: true, n: 1.5, i: -3, s: '5', d: 2024-01-02, z: ~ }\n")
    options = {k: v for k, v, _ in config.filters[0].options}
    assert options == {"b": True, "n": 1.5, "i": -3, "s": "5", "d": "2024-01-02", "z": None}


def test_yaml_empty_document_and_sections():
    assert parse_yaml("") == PipelineConfig(sources=["<config>"])
    config = parse_yaml("input:\nfilter: []\noutput:\n  - stdout:\n")
    assert config.inputs == [] and config.filters == []
    assert config.outputs[0].name == "stdout" and config.outputs[0].options == ()


def test_else_if_accepts_if_as_key():
    config = parse_yaml("filter:\n  - if: '[a]'\n    then: []\n    else_if:\n      - if: '[b]'\n        then: []\n")
    assert len(config.filters[0].branches) == 2


@pytest.mark.parametrize(("text", "where", "says"), [
    ("inputs:\n  - stdin: {}\n", "y.yml:1:1", "unknown section 'inputs'"),
    ("input:\n  stdin: {}\n", "y.yml:2:3", "expected a list of plugins"),
    ("input:\n  - stdin: {}\n    beats: {}\n", "y.yml:2:5", "one-key mapping"),
    ("filter:\n  - x: [1]\n", "y.yml:2:8", "must be a mapping"),
    ("filter:\n  - if: '[a] =='\n    then: []\n", "y.yml:2:16", "end of condition"),
    ("filter:\n  - if: '[a]'\n", "y.yml:2:5", "needs 'then:'"),
    ("filter:\n  - if: '[a]'\n    then: []\n    elif: []\n", "y.yml:4:5", "unknown key 'elif'"),
    ("input:\n  - if: '[a]'\n    then: []\n", "y.yml:2:5", "not allowed in the input section"),
    ("filter:\n  - x: { a: '${UNSET_VAR_X}' }\n", "y.yml:2:13", "UNSET_VAR_X"),
    ("filter:\n  - x: { a: [1, 2\n", "y.yml:3:1", "invalid YAML"),
    ("filter:\n  - x: { a: 1, a: 2 }\n", "y.yml:2:16", "duplicate option 'a'"),
    ("filter:\n  - x: { h: { k: 1, k: 2 } }\n", "y.yml:2:21", "duplicate key 'k' in hash"),
])
def test_yaml_errors_with_locations(text, where, says):
    with pytest.raises(ConfigErrors) as caught:
        parse_yaml(text, "y.yml", env={})
    first = caught.value.errors[0]
    assert str(first.location) == where, first
    assert says in first.message


def test_yaml_reports_every_error_at_once():
    text = "filter:\n  - x: [1]\n  - if: '[a] =='\n    then: []\noutput:\n  - y: { a: '${NOPE_Y}' }\n"
    with pytest.raises(ConfigErrors) as caught:
        parse_yaml(text, "y.yml", env={})
    assert [e.location.line for e in caught.value.errors] == [2, 3, 6]


def test_plugin_without_options_can_be_a_plain_name():
    config = parse_yaml("input:\n  - stdin\noutput:\n  - stdout:\n  - null: {}\n")
    assert [(s.kind, s.name, s.options) for s in config.inputs + config.outputs] == [
        ("input", "stdin", ()), ("output", "stdout", ()), ("output", "null", ())]


def test_names_and_hash_keys_are_kept_as_written():
    config = parse_yaml("filter:\n  - translate: { on: 1, dictionary: { yes: a, 200: OK, ~: n } }\n")
    assert [(k, v) for k, v, _ in config.filters[0].options] == [
        ("on", 1), ("dictionary", {"yes": "a", 200: "OK", "~": "n"})]
