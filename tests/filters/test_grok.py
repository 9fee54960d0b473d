"""The grok filter, built from config text as users write it: every option, failure and timeout paths."""

from __future__ import annotations

import time

import pytest

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.testing import build_plugin, run_filters

APACHE = ('83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /a.png HTTP/1.1" 200 203023 '
          '"http://semicomplete.com/" "Mozilla/5.0"')


def run(config: str, message: object = APACHE, **fields: object) -> Event:
    events = run_filters(config, [{"message": message, **fields}])
    assert len(events) == 1
    return events[0]


def test_match_hash_ecs_default() -> None:
    event = run('grok { match => { "message" => "%{COMBINEDAPACHELOG}" } }')
    assert event.get("[source][address]") == "83.149.9.216"
    assert event.get("[http][response][status_code]") == 200
    assert event.get("[http][response][body][bytes]") == 203023
    assert event.get("[user_agent][original]") == "Mozilla/5.0"
    assert not event.has_tag("_grokparsefailure")


def test_legacy_mode_and_array_form_of_match() -> None:
    event = run('grok { match => ["message", "%{COMBINEDAPACHELOG}"] ecs_compatibility => disabled }')
    assert event.get("clientip") == "83.149.9.216"
    assert event.get("response") == "200"
    assert event.get("agent") == '"Mozilla/5.0"'


def test_list_of_patterns_tried_in_order_break_on_match() -> None:
    config = 'grok { match => { "message" => ["%{INT:n:int} apples", "%{WORD:w} %{WORD:v}"] } }'
    assert run(config, "3 apples").get("n") == 3
    event = run(config, "red apples")
    assert event.get("w") == "red" and event.get("n") is None


def test_break_on_match_false_applies_every_matching_pattern() -> None:
    config = ('grok { match => { "message" => ["%{INT:n:int}", "%{WORD:w}"] "other" => "%{WORD:o}" } '
              'break_on_match => false }')
    event = run(config, "42", other="x")
    assert event.get("n") == 42 and event.get("w") == "42" and event.get("o") == "x"
    event = run(config.replace("break_on_match => false", ""), "42", other="x")
    assert event.get("w") is None and event.get("o") is None  # first field matched: stop


def test_failure_tags_default_and_custom() -> None:
    assert run('grok { match => { "message" => "%{INT:n}" } }', "none").tags == ["_grokparsefailure"]
    event = run('grok { match => { "message" => "%{INT:n}" } tag_on_failure => ["bad", "worse"] }', "x")
    assert event.tags == ["bad", "worse"]
    assert run('grok { match => { "message" => "%{INT:n}" } tag_on_failure => [] }', "x").tags == []


def test_missing_source_field_is_matched_as_empty_text() -> None:
    # Logstash matches nil.to_s == "": a pattern that needs text fails, one that accepts "" matches
    events = run_filters('grok { match => { "nothere" => "%{INT:x}" } }', [{"message": "a"}])
    assert events[0].has_tag("_grokparsefailure")
    events = run_filters('grok { match => { "nothere" => "%{GREEDYDATA:x}" } add_tag => ["seen"] }',
                         [{"message": "a"}])
    assert events[0].tags == ["seen"] and not events[0].includes("x")


def test_capture_into_existing_field_makes_array_unless_overwrite() -> None:
    config = 'grok { match => { "message" => "%{WORD:verb} %{GREEDYDATA:message}" } }'
    event = run(config, "GET rest of line")
    assert event.get("message") == ["GET rest of line", "rest of line"]
    event = run(config.replace("} }", '} overwrite => ["message"] }'), "GET rest of line")
    assert event.get("message") == "rest of line"
    event = run('grok { match => { "message" => "%{WORD:n}" } }', "abc", n=["x"])
    assert event.get("n") == ["x", "abc"]
    event = run('grok { match => { "message" => "%{WORD:n}" } }', "abc", n=5)
    assert event.get("n") == 5  # Logstash keeps a non-string value as is


def test_named_captures_only_false() -> None:
    event = run('grok { match => { "message" => "%{WORD} %{INT:n}" } named_captures_only => false }', "a 1")
    assert event.get("WORD") == "a" and event.get("n") == "1"


def test_keep_empty_captures() -> None:
    config = 'grok { match => { "message" => "%{WORD:a};%{DATA:b};" } keep_empty_captures => true }'
    assert run(config, "x;;").get("b") == ""
    assert not run(config.replace("keep_empty_captures => true", ""), "x;;").includes("b")


def test_pattern_definitions_and_patterns_dir(tmp_path) -> None:
    (tmp_path / "postfix.grok").write_text("QUEUEID [0-9A-F]{10,11}\n")
    (tmp_path / "ignored.txt").write_text("QUEUEID nope\n")
    config = (f'grok {{ match => {{ "message" => "%{{QUEUEID:qid}}: %{{SHOUT:s}}" }} '
              f'patterns_dir => ["{tmp_path}"] patterns_files_glob => "*.grok" '
              f'pattern_definitions => {{ "SHOUT" => "[A-Z]+!" }} }}')
    event = run(config, "ABCDEF1234: HEY!")
    assert event.get("qid") == "ABCDEF1234" and event.get("s") == "HEY!"


def test_target() -> None:
    event = run('grok { match => { "message" => "%{IP:[client][ip]} %{WORD:w}" } target => "parsed" }', "1.2.3.4 x")
    assert event.get("[parsed][client][ip]") == "1.2.3.4" and event.get("[parsed][w]") == "x"


def test_common_options_apply_only_on_success() -> None:
    config = ('grok { match => { "message" => "%{INT:n}" } add_tag => ["ok_%{n}"] add_field => { "f" => "v" } '
              'remove_field => ["message"] }')
    event = run(config, "7")
    assert event.tags == ["ok_7"] and event.get("f") == "v" and not event.includes("message")
    event = run(config, "none")
    assert event.tags == ["_grokparsefailure"] and not event.includes("f")


def test_array_input_each_element_matched() -> None:
    event = run('grok { match => { "message" => "%{INT:n}" } }', ["1", "x", "2"])
    assert event.get("n") == ["1", "2"]
    assert not event.has_tag("_grokparsefailure")


def test_non_string_input_is_matched_as_text() -> None:
    assert run('grok { match => { "message" => "%{INT:n:int}" } }', 123).get("n") == 123


def test_pathological_line_times_out_and_is_tagged() -> None:
    config = ('grok { match => { "message" => "^%{DATA:a},%{DATA:b},%{DATA:c},%{DATA:d},%{DATA:e},%{DATA:f};$" } '
              'timeout_millis => 500 }')
    line = "a," * 100  # 200 characters: about a minute on re, over 20 s on regex
    start = time.monotonic()
    event = run(config, line)
    elapsed = time.monotonic() - start
    assert event.has_tag("_groktimeout") and not event.has_tag("_grokparsefailure")
    assert elapsed < 5  # the same line runs for minutes without the timeout
    assert run(config, "1,2,3,4,5,6;").get("f") == "6"


def test_timeout_scope_event_and_custom_tag() -> None:
    bad = "^%{DATA:a},%{DATA:b},%{DATA:c},%{DATA:d},%{DATA:e},%{DATA:f};$"
    config = (f'grok {{ match => {{ "message" => ["{bad}", "{bad}", "{bad}"] }} timeout_millis => 300 '
              f'timeout_scope => event tag_on_timeout => "slow" }}')
    start = time.monotonic()
    event = run(config, "a," * 100)
    assert event.tags == ["slow"]
    assert time.monotonic() - start < 5


def test_timeout_zero_disables_the_limit() -> None:
    plugin = build_plugin("filter", 'grok { match => { "message" => "%{WORD:w}" } timeout_millis => 0 }')
    assert plugin.timeout is None


@pytest.mark.parametrize(("config", "message"), [
    ('grok { match => { "message" => "%{NOPE:x}" } }', "NOPE"),
    ('grok { match => { "message" => "%{FOO:x}" } pattern_definitions => { "FOO" => "(abc" } }', "FOO"),
    ('grok { match => { "message" => "%{WORD:x}" } timeout_millis => -1 }', "timeout_millis"),
    ('grok { match => { "message" => "%{WORD:x}" } ecs_compatibility => v2 }', "ecs_compatibility"),
    ('grok { match => { "message" => "%{WORD:x}" } patterns_dir => ["/does/not/exist"] }', "/does/not/exist"),
])
def test_config_errors_name_the_problem(config: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_plugin("filter", config)
    assert message in str(info.value)


def test_ecs_compatibility_from_pipeline_setting() -> None:
    from pipeline.plugin import PluginContext, build_from_dict

    plugin = build_from_dict("filter", "grok", {"match": {"message": "%{SYSLOGBASE}"}},
                             PluginContext(settings={"pipeline.ecs_compatibility": "disabled"}))
    event = Event({"message": "Mar 27 13:06:56 h sshd[1]: x"})
    plugin.filter(event)
    assert event.get("logsource") == "h"


def test_grok_without_match_is_valid_and_tags_every_event_as_logstash_does() -> None:
    # logstash-filter-grok: no pattern can match, so every event gets tag_on_failure
    [event] = run_filters('grok { add_tag => ["seen"] }', [{"message": "x"}])
    assert event.get("tags") == ["_grokparsefailure"]
    [event] = run_filters("grok { tag_on_failure => [] }", [{"message": "x"}])
    assert event.get("tags") is None


def test_unknown_type_word_keeps_the_text_and_says_so(caplog) -> None:
    [event] = run_filters('grok { match => { "message" => "%{IPV4:src_ip:string} %{INT:n:integer}" } }',
                          [{"message": "10.0.0.1 42"}])
    assert event.get("src_ip") == "10.0.0.1" and event.get("n") == "42"  # as Logstash: no conversion
    assert "%{IPV4:src_ip:string}, %{INT:n:integer}: only :int and :float convert" in caplog.text


def test_a_batch_gives_what_event_by_event_gives_and_is_counted_once() -> None:
    config = 'grok { match => { "message" => "%{COMBINEDAPACHELOG}" } add_tag => ["parsed"] }'
    lines = [APACHE, "not apache", APACHE.replace("Mozilla", 'Moz"illa'), 42, None, APACHE * 3]
    batched, single = build_plugin("filter", config), build_plugin("filter", config)
    stamp = "2015-05-17T10:05:03Z"
    batch = [Event({"message": line, "@timestamp": stamp}) for line in lines]
    assert batched.filter_batch(batch) == batch
    one_by_one = [Event({"message": line, "@timestamp": stamp}) for line in lines]
    for event in one_by_one:
        single.filter(event)
    assert [e.to_dict() for e in batch] == [e.to_dict() for e in one_by_one]
    assert batched.stats.snapshot() == single.stats.snapshot()
    assert batched.stats.matches == 3 and batched.stats.failures == 3  # 42 and None are matched as text


def test_an_error_on_one_event_of_a_batch_tags_that_event_only(monkeypatch) -> None:
    grok = build_plugin("filter", 'grok { match => { "message" => "%{WORD:w}" } }')
    pattern = grok.matches[0][1][0]
    real = pattern.setter

    def breaks_on_boom(event, data, groups):
        if groups[0] == "boom":
            raise RuntimeError("a bug")
        real(event, data, groups)

    object.__setattr__(pattern, "setter", breaks_on_boom)
    events = [Event({"message": word}) for word in ("fine", "boom", "also")]
    grok.filter_batch(events)
    assert [e.tags for e in events] == [[], ["_filter_error"], []]
    assert [e.get("w") for e in events] == ["fine", None, "also"]
