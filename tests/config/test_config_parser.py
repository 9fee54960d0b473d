"""The Logstash config language: values, sections, comments, env vars, nested codecs."""

from __future__ import annotations

import pytest

from pipeline.config.ast import Bareword, IfStatement
from pipeline.config.loader import parse_text
from pipeline.errors import ConfigErrors, Location
from pipeline.plugin import PluginSpec


def options(spec: PluginSpec) -> dict:
    return {key: value for key, value, _ in spec.options}


def only_filter(text: str, **kwargs) -> PluginSpec:
    config = parse_text("filter { " + text + " }", **kwargs)
    assert len(config.filters) == 1
    return config.filters[0]


def value_of(literal: str, **kwargs):
    return options(only_filter(f"x {{ v => {literal} }}", **kwargs))["v"]


USERS_EXAMPLE = """\
input { beats { port => 5044 } }
filter { grok { match => { "message" => "%{TIMESTAMP_ISO8601:timestamp} %{LOGLEVEL:level} %{GREEDYDATA:message}" } } }
output { elasticsearch { hosts => ["http://localhost:9200"] index => "logs-%{+YYYY.MM.dd}" } }
"""


def test_users_example_parses_with_locations():
    config = parse_text(USERS_EXAMPLE, "pipeline.conf")
    (beats,), (grok,), (es,) = config.inputs, config.filters, config.outputs
    assert (beats.kind, beats.name, options(beats)) == ("input", "beats", {"port": 5044})
    assert beats.location == Location("pipeline.conf", 1, 9)
    assert beats.options[0][2] == Location("pipeline.conf", 1, 17)
    assert options(grok) == {"match": {"message": "%{TIMESTAMP_ISO8601:timestamp} %{LOGLEVEL:level} "
                                                  "%{GREEDYDATA:message}"}}
    assert options(es) == {"hosts": ["http://localhost:9200"], "index": "logs-%{+YYYY.MM.dd}"}
    assert es.location.line == 3
    assert config.sources == ["pipeline.conf"]


@pytest.mark.parametrize(("literal", "expected"), [
    ("5044", 5044),
    ("-12", -12),
    ("1.5", 1.5),
    ("-0.25", -0.25),
    ("3.", 3.0),
    ('"hello world"', "hello world"),
    ("'single quoted'", "single quoted"),
    ('""', ""),
    ("json", "json"),
    ("true", "true"),
    ("snake_case_2", "snake_case_2"),
    ("[]", []),
    ('[a1, "b", 1, 2.5]', ["a1", "b", 1, 2.5]),
    ("[ [1, 2], [3] ]", [[1, 2], [3]]),
    ('{ "k" => "v" k2 => 1 }', {"k": "v", "k2": 1}),
    ("{}", {}),
    ('{ "a" => { "b" => [1] } }', {"a": {"b": [1]}}),
    ("{ 200 => \"OK\" }", {200: "OK"}),
])
def test_values(literal, expected):
    value = value_of(literal)
    assert value == expected
    assert type(value) is type(expected) or isinstance(value, Bareword)


def test_barewords_are_marked_but_compare_as_strings():
    value = value_of("rubydebug")
    assert isinstance(value, Bareword) and value == "rubydebug"
    assert not isinstance(value_of('"rubydebug"'), Bareword)


def test_multiline_values_and_hashes_without_commas():
    spec = only_filter("""mutate {
        add_field => {
          "a" => "1"
          "b" => "2"    # comment inside a hash
        }
        add_tag => [
          "x",          # comment inside an array
          "y"
        ]
    }""")
    assert options(spec) == {"add_field": {"a": "1", "b": "2"}, "add_tag": ["x", "y"]}


def test_strings_are_verbatim_by_default_like_logstash():
    # Logstash keeps backslashes unless config.support_escapes is on; \" does not end the string.
    assert value_of(r'"say \"hi\""') == r"say \"hi\""
    assert value_of(r"'it\'s'") == r"it\'s"
    assert value_of(r'"a\tb\n"') == r"a\tb\n"
    assert value_of(r'"^\s+%{WORD}"') == r"^\s+%{WORD}"
    assert value_of('"line one\nline two"') == "line one\nline two"  # real newlines are kept


def test_support_escapes_processes_logstash_escapes():
    assert value_of(r'"say \"hi\"\t\\ \n\r\0 \q"', support_escapes=True) == 'say "hi"\t\\ \n\r\0 \\q'
    assert value_of(r"'it\'s'", support_escapes=True) == "it's"


def test_nested_codec_blocks():
    config = parse_text("""
    input {
      stdin { codec => multiline { pattern => "^\\s" what => "previous" } }
      tcp { codec => json {} port => 5000 }
    }
    output { stdout { codec => rubydebug } }
    """)
    stdin, tcp = config.inputs
    codec = options(stdin)["codec"]
    assert isinstance(codec, PluginSpec)
    assert (codec.kind, codec.name, options(codec)) == ("codec", "multiline",
                                                      {"pattern": "^\\s", "what": "previous"})
    assert codec.location.line == 3
    assert options(tcp)["codec"] == PluginSpec("codec", "json", (), options(tcp)["codec"].location)
    assert options(tcp)["port"] == 5000
    assert options(config.outputs[0])["codec"] == "rubydebug"


def test_comments_everywhere():
    config = parse_text("""# header
    # another
    input # after section name
    { # after brace
      stdin # after plugin name
      { # after plugin brace
        tags # after option name
        => # after arrow
        ["a"] # after value
      } # after plugin
    } # after section
    filter {
      if [a] # inside a condition
         == 1 # still inside
      { # before body
      } # after if
      else # before else body
      { }
    }
    # trailing comment without newline""")
    assert options(config.inputs[0]) == {"tags": ["a"]}
    assert isinstance(config.filters[0], IfStatement)
    assert len(config.filters[0].branches) == 2


def test_empty_config_sections_and_plugins():
    assert parse_text("").inputs == []
    assert parse_text("# only a comment\n").filters == []
    config = parse_text("input {} filter { } output {\n}")
    assert (config.inputs, config.filters, config.outputs) == ([], [], [])
    assert options(only_filter("noop {}")) == {}


def test_sections_repeat_and_concatenate_in_order():
    config = parse_text("""
    filter { a1 {} }
    input { in1 {} }
    filter { a2 {} a3 {} }
    output { o1 {} }
    input { in2 {} }
    """)
    assert [s.name for s in config.inputs] == ["in1", "in2"]
    assert [s.name for s in config.filters] == ["a1", "a2", "a3"]
    assert [s.name for s in config.outputs] == ["o1"]


def test_plugin_and_option_names_may_be_quoted_or_dashed():
    spec = only_filter('"my-plugin" { "quoted key" => 1 dashed-key => 2 }')
    assert spec.name == "my-plugin"
    assert options(spec) == {"quoted key": 1, "dashed-key": 2}


def test_repeated_options_are_all_kept_in_order():
    # Logstash merges repeated hash/array options; the plugin layer does the merge, so keep all.
    spec = only_filter('grok { match => { "a" => "1" } match => { "b" => "2" } }')
    assert [(k, v) for k, v, _ in spec.options] == [("match", {"a": "1"}), ("match", {"b": "2"})]


def test_whitespace_variants_crlf_and_tabs():
    config = parse_text("input {\r\n\tstdin {\r\n\t\tid => \"x\"\r\n\t}\r\n}\r\n")
    assert options(config.inputs[0]) == {"id": "x"}
    assert config.inputs[0].location.line == 2


def test_env_substitution_in_strings_arrays_and_hashes():
    env = {"PORT": "5044", "HOST": "es1", "TAG": "prod"}
    spec = only_filter(
        'x { port => "${PORT}" url => "http://${HOST}:${ES_PORT:9200}/" tags => ["${TAG}", "t-${MISSING:none}"] '
        'h => { "k" => "${HOST}" } e => "${EMPTY:}" }', env=env)
    assert options(spec) == {"port": "5044", "url": "http://es1:9200/", "tags": ["prod", "t-none"],
                             "h": {"k": "es1"}, "e": ""}


def test_env_substitution_uses_process_environment(monkeypatch):
    monkeypatch.setenv("PIPELINE_TEST_VAR", "from-env")
    assert value_of('"${PIPELINE_TEST_VAR}"') == "from-env"


def test_undefined_env_var_is_an_error_naming_it_and_all_are_reported():
    with pytest.raises(ConfigErrors) as caught:
        parse_text('filter {\n x { a => "${NOT_SET_ONE}" }\n y { b => "${NOT_SET_TWO}" } }', "e.conf", env={})
    errors = caught.value.errors
    assert [str(e.location) for e in errors] == ["e.conf:2:11", "e.conf:3:11"]
    assert "NOT_SET_ONE" in errors[0].message and "NOT_SET_TWO" in errors[1].message


def test_env_values_never_change_the_structure():
    spec = only_filter('x { a => "${EVIL}" }', env={"EVIL": '" } } output { y {} } #'})
    assert options(spec) == {"a": '" } } output { y {} } #'}


def test_compact_formatting_without_spaces():
    config = parse_text('filter{grok{match=>{"message"=>"x"}}if[a]=="b"{drop{}}else{mutate{add_tag=>["t"]}}}')
    grok, statement = config.filters
    assert options(grok) == {"match": {"message": "x"}}
    assert [len(b.body) for b in statement.branches] == [1, 1]


def test_real_world_layout_tabs_odd_indentation_and_codec_on_same_line():
    config = parse_text('input {\n  tcp {\n    codec => cef { delimiter => "\\r\\n"}\n    port => 5000\n'
                        '    type => syslog\n  }\n}\n filter{\n\tgrok {        \n\n\tpatterns_dir => ["./p"]\n }\n   }\n')
    (tcp,) = config.inputs
    assert options(options(tcp)["codec"]) == {"delimiter": "\\r\\n"}
    assert options(tcp)["type"] == "syslog"
    assert options(config.filters[0]) == {"patterns_dir": ["./p"]}
