"""Syntax errors: file:line:col, what was expected, and every broken plugin in one run."""

from __future__ import annotations

import pytest

from pipeline.config.loader import parse_text
from pipeline.errors import ConfigError, ConfigErrors


def errors_of(text: str) -> list[ConfigError]:
    with pytest.raises(ConfigErrors) as caught:
        parse_text(text, "bad.conf")
    return caught.value.errors


@pytest.mark.parametrize(("text", "where", "says"), [
    ("input { stdin { port 5044 } }", "bad.conf:1:22", "expected '=>' after option name 'port'"),
    ('input { stdin { a => "x } }', "bad.conf:1:22", "unterminated string"),
    ("inptu { }", "bad.conf:1:1", "expected a section: 'input', 'filter' or 'output', found 'inptu'"),
    ('filter { x { h => { "a" => 1, "b" => 2 } } }', "bad.conf:1:29",
     "hash entries are separated by whitespace, not commas"),
    ("filter { x { a => [one, two,] } }", "bad.conf:1:29", "Logstash does not allow a trailing comma"),
    ("filter { x { a => [one two] } }", "bad.conf:1:24", "expected ',' or ']' in array"),
    ("filter { x { a => b } }", "bad.conf:1:19", "quote it"),
    ("filter { x { a => /regex/ } }", "bad.conf:1:19", "expected a value for option 'a'"),
    ("filter { x { a => 1 }", "bad.conf:1:22", "expected '}' to close the block opened at line 1"),
    ("filter {\n  x {\n    a => 1\n", "bad.conf:4:1", "to close plugin 'x' opened at line 2"),
    ("filter { x }", "bad.conf:1:12", "expected '{' after plugin name 'x'"),
    ("filter { x { => 1 } }", "bad.conf:1:14", "expected an option name or '}'"),
    ("output { stdout { codec => } }", "bad.conf:1:28", "expected a value for option 'codec'"),
    ("filter { else { } }", "bad.conf:1:10", "'else' without a matching 'if'"),
    ("filter { if [a] = 1 { } }", "bad.conf:1:17", "expected '{' after the condition"),
    ("filter { if [a] == 1 and { } }", "bad.conf:1:26", "expected a field reference"),
    ("filter { if foo { } }", "bad.conf:1:13", 'write [foo] for the field or "foo" for the string'),
    ("filter { if [a]b { } }", "bad.conf:1:13", "invalid field reference '[a]b'"),
    ("filter { if [a][b { } }", "bad.conf:1:13", "invalid field reference '[a][b'"),
    ("filter { if ([a] { } }", "bad.conf:1:18", "expected ')'"),
    ("filter { if ! 1 { } }", "bad.conf:1:15", "expected a field reference like [field] or '(' after '!'"),
    ("filter { if [a] not [b] { } }", "bad.conf:1:21", "expected 'in' after 'not'"),
    ("filter { if [a] =~ 5 { } }", "bad.conf:1:20", "expected a regular expression"),
    ("filter { if [a] =~ /x { } }", "bad.conf:1:20", "unterminated regular expression"),
    ("filter { if [a] =~ /(/ { } }", "bad.conf:1:20", "invalid regular expression /(/"),
    ("filter { if [a] else { } }", "bad.conf:1:17", "expected '{' after the condition"),
    ("filter { if [a] { } else if { } }", "bad.conf:1:29", "expected a field reference"),
    ("filter { if /x/ { } }", "bad.conf:1:13", "can only follow =~ or !~"),
    ("filter { if [a] == /x/ { } }", "bad.conf:1:20", "can only follow =~ or !~"),
    ("filter { if size([a]) > 1 { } }", "bad.conf:1:13", "method calls such as size(...) are not supported"),
    ("input { if [a] { stdin {} } }", "bad.conf:1:9", "conditionals are not allowed in the input section"),
    ('filter { x { h => { "a" => 1 "a" => 2 } } }', "bad.conf:1:30", "duplicate key 'a' in hash"),
])
def test_syntax_error_location_and_message(text, where, says):
    errors = errors_of(text)
    assert str(errors[0].location) == where, errors[0]
    assert says in errors[0].message
    assert str(errors[0]).startswith(where + ": ")


def test_every_broken_plugin_is_reported_in_one_run():
    text = """input { stdin { port 5044 } beats { port => 1 } }
filter {
  if [a] = 1 { mutate {} } else { drop {} }
  mutate { add_field => { "a" => 1, "b" => 2 } }
  grok { match => { "message" => "x" } }
}
outptu { stdout {} }
output { stdout { codec => json { charset => } } }
"""
    errors = errors_of(text)
    assert [str(e.location) for e in errors] == [
        "bad.conf:1:22", "bad.conf:3:10", "bad.conf:4:35", "bad.conf:7:1", "bad.conf:8:46"]


def test_errors_never_dump_parser_internals():
    for error in errors_of("filter { x { a => } }\noutput { y { b => [1,] } }"):
        assert "Token" not in error.message and "lark" not in error.message
        assert error.message.startswith("expected ")


@pytest.mark.parametrize("text", [
    "filter { x { a => " + "[" * 2000 + "]" * 2000 + " } }",
    "filter { if " + "(" * 2000 + "[a]" + ")" * 2000 + " { } }",
])
def test_absurd_nesting_is_a_config_error_not_a_crash(text):
    assert "nesting is too deep" in errors_of(text)[-1].message


def test_absurdly_long_condition_is_a_config_error_not_a_crash():
    from pipeline.config.conditions import compile_condition
    from pipeline.config.parser import parse_condition

    tree = parse_condition(" and ".join(["[a]"] * 5000))  # parsing is iterative here
    with pytest.raises(ConfigError, match="too complex"):
        compile_condition(tree)


def test_errors_inside_a_plugin_name_it():
    errors = errors_of('input { stdin { port 5044 } }\n'
                       'output { stdout { codec => json { charset => } } x { a => "${UNSET_FOR_TEST_Q}" } }')
    assert [(e.kind, e.plugin) for e in errors] == [("input", "stdin"), ("codec", "json"), ("output", "x")]
    assert str(errors[0]) == "bad.conf:1:22: input stdin: expected '=>' after option name 'port', found '5044'"
    env_error = errors_of('filter { x { a => "${UNSET_FOR_TEST_Q}" } }')[0]
    assert str(env_error).startswith("bad.conf:1:19: filter x: cannot evaluate ${UNSET_FOR_TEST_Q}")
