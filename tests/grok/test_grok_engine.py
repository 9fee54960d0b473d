"""The Grok library class: syntax coverage, field names, types, errors."""

from __future__ import annotations

import pytest

from pipeline.grok import Grok, GrokError
from pipeline.grok.translate import TranslateError, translate


def test_semantic_names_nested_and_types() -> None:
    grok = Grok("%{IP:[source][ip]} %{NUMBER:n:int} %{NUMBER:f:float} %{WORD:plain}")
    assert grok.match("10.0.0.1 42 2.5 hello") == {
        "source": {"ip": "10.0.0.1"}, "n": 42, "f": 2.5, "plain": "hello"}


def test_no_match_is_none_and_empty_captures_are_left_out() -> None:
    grok = Grok(r"%{WORD:a}(?: %{WORD:b})?;%{DATA:c};")
    assert grok.match("!!!") is None
    assert grok.match("x;;") == {"a": "x"}


def test_oniguruma_named_groups_plain_and_nested() -> None:
    grok = Grok(r"(?<queue_id>[0-9A-F]{5}) (?<[client][name]>\w+) (?<a.b>\d)")
    assert grok.match("ABC12 web1 7") == {"queue_id": "ABC12", "client": {"name": "web1"}, "a.b": "7"}


def test_posix_classes_hex_escape_and_negated_posix() -> None:
    grok = Grok(r"(?<w>[[:alpha:]]+)-(?<d>[[:digit:]]+)-(?<h>\h+)-(?<n>[[:^space:]]+)")
    assert grok.match("abc-123-beef-x/y") == {"w": "abc", "d": "123", "h": "beef", "n": "x/y"}


def test_atomic_group_possessive_and_lookarounds() -> None:
    assert Grok(r"(?<x>(?>a+)b)").match("aaab") == {"x": "aaab"}
    assert Grok(r"(?<x>(?>a+)a)").match("aaaa") is None  # atomic: no giving back
    assert Grok(r"(?<x>a++a)").match("aaaa") is None  # possessive
    assert Grok(r"(?<=id=)(?<id>\d+)(?!\d*px)").match("id=123 ") == {"id": "123"}


def test_non_ascii_in_pattern_and_text() -> None:
    grok = Grok(r"用户 (?<user>\S+) 登录 %{WORD:result}")
    assert grok.match("用户 张三 登录 ok") == {"user": "张三", "result": "ok"}
    assert Grok("%{MONTH:m}").match("am 3. März") == {"m": "März"}


def test_ruby_multiline_option_and_mid_pattern_switch() -> None:
    assert Grok(r"(?m)^(?<all>a.*)$").match("a\nb") == {"all": "a\nb"}  # Ruby m = dot matches newline
    assert Grok(r"x(?i)(?<w>abc)").match("xABC") == {"w": "ABC"}
    assert Grok(r"(?<w>a(?i)b)c").match("aBc") == {"w": "aB"}
    assert Grok(r"(?<w>a(?i)b)c").match("aBC") is None  # the switch ends with its group


def test_ruby_anchors_translated() -> None:
    assert Grok(r"(?<w>\w+)\z").match("ab\n") is None
    assert Grok(r"(?<w>\w+)\Z").match("ab\n") == {"w": "ab"}


def test_same_name_twice_makes_a_list() -> None:
    assert Grok("%{WORD:w} %{WORD:w}").match("a b") == {"w": ["a", "b"]}


def test_named_captures_only_false_keeps_pattern_names() -> None:
    assert Grok("%{WORD} %{INT:n}", named_captures_only=False).match("a 1") == {"WORD": "a", "n": "1"}


def test_custom_patterns_and_patterns_dir(tmp_path) -> None:
    (tmp_path / "extra").write_text("# comment\nPOSTFIX_QUEUEID [0-9A-F]{10,11}\n")
    grok = Grok("%{POSTFIX_QUEUEID:qid} %{SHOUT:s}", custom_patterns={"SHOUT": "[A-Z]+!"},
                patterns_dir=[tmp_path])
    assert grok.match("ABCDEF1234 HEY!") == {"qid": "ABCDEF1234", "s": "HEY!"}


def test_ecs_modes_change_field_names() -> None:
    line = "Mar 27 13:06:56 host1 sshd[1291]: hi"
    assert Grok("%{SYSLOGBASE}", ecs_compatibility="disabled").match(line) == {
        "timestamp": "Mar 27 13:06:56", "logsource": "host1", "program": "sshd", "pid": "1291"}
    expected = {"timestamp": "Mar 27 13:06:56", "host": {"hostname": "host1"},
                "process": {"name": "sshd", "pid": 1291}}
    assert Grok("%{SYSLOGBASE}", ecs_compatibility="v1").match(line) == expected
    assert Grok("%{SYSLOGBASE}").match(line) == expected  # default follows Logstash 8: ECS


def test_unknown_pattern_is_named() -> None:
    with pytest.raises(GrokError, match=r"unknown grok pattern %\{NOPE\}"):
        Grok("%{NOPE:x}")
    with pytest.raises(GrokError, match=r"%\{MISSING\} \(used by OUTER"):
        Grok("%{OUTER}", custom_patterns={"OUTER": "a%{MISSING}"})


def test_broken_pattern_file_reports_file_and_line(tmp_path) -> None:
    (tmp_path / "mine").write_text("GOOD \\d+\n\nBAD (unclosed\n")
    with pytest.raises(GrokError) as info:
        Grok("%{GOOD} %{BAD}", patterns_dir=[tmp_path])
    assert "BAD" in str(info.value) and f"{tmp_path / 'mine'}:3" in str(info.value)


def test_recursive_pattern_is_an_error() -> None:
    with pytest.raises(GrokError, match="refers to itself"):
        Grok("%{A}", custom_patterns={"A": "x%{B}", "B": "%{A}"})


def test_unknown_type_keeps_the_text_as_logstash_does() -> None:
    # jls-grok converts only :int and :float; any other word (":string", ":long") converts nothing
    assert Grok("%{INT:n:long} %{IPV4:src_ip:string}").match("42 10.0.0.1") == {"n": "42", "src_ip": "10.0.0.1"}


def test_text_after_the_pattern_name_is_ignored_as_logstash_does() -> None:
    # Logstash's nagios specs write %{NAGIOSLOGLINE - CURRENT HOST STATE}: only the name counts
    assert Grok("%{INT:n - some note}").match("7") == {"n": "7"}
    assert Grok("%{INT some note}", named_captures_only=False).match("7") == {"INT": "7"}


def test_inline_definition_defines_the_pattern_for_the_expression() -> None:
    assert Grok("%{FIZZLE=\\d+} %{FIZZLE:again}", named_captures_only=False).match("12 34") == {
        "FIZZLE": "12", "again": "34"}


def test_a_reference_that_can_never_match_is_an_error() -> None:
    with pytest.raises(GrokError, match="malformed grok reference"):
        Grok("%{ IP:client}")
    with pytest.raises(GrokError, match="missing '}'"):
        Grok("%{IP:client")


def test_dot_matches_newlines_as_in_logstash() -> None:
    # jls-grok compiles with Regexp::MULTILINE (Ruby's dot-all): a stack trace stays in one field
    trace = "boom\n\tat a.b(C.java:1)\n\tat d.e(F.java:2)"
    assert Grok("%{WORD:w}: %{GREEDYDATA:rest}").match("x: " + trace) == {"w": "x", "rest": trace}
    assert Grok("(?-m:%{WORD:w}: .*)\\z").match("x: " + trace) is None  # (?-m) turns it off, as in Ruby


def test_a_repeated_quantifier_is_reduced_as_onigmo_does() -> None:
    assert Grok("(?<all>a.?*)").match("abc") == {"all": "abc"}


def test_translate_renames_groups_and_reports_captures() -> None:
    out = translate(r"(?<a>x)(?<[b][c]>y)\k<a>")
    assert out.pattern == "(?P<g0>x)(?P<g1>y)(?P=g0)"
    assert [(c.group, c.field) for c in out.captures] == [("g0", "a"), ("g1", "[b][c]")]
    with pytest.raises(TranslateError):
        translate("(a")


def test_unicode_property_uses_regex_module() -> None:
    grok = Grok(r"(?<word>\p{L}+)")
    assert grok.compiled.fast is None
    assert grok.match("  Grüße ") == {"word": "Grüße"}


def test_timeout_raises_on_pathological_line() -> None:
    from pipeline.grok import GrokTimeout

    grok = Grok("^%{DATA:a},%{DATA:b},%{DATA:c},%{DATA:d},%{DATA:e},%{DATA:f};$", timeout=0.2)
    with pytest.raises(GrokTimeout):
        grok.match("a," * 100)
    assert grok.match("1,2,3,4,5,6;") == {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6"}


def test_pygrok_style_arguments(tmp_path) -> None:
    (tmp_path / "p").write_text("THING [a-z]+\n")
    grok = Grok("%{THING:t}", custom_patterns_dir=str(tmp_path), fullmatch=True)
    assert grok.match("abc") == {"t": "abc"}
    assert grok.match("abc 1") is None  # fullmatch: the whole text
    assert Grok("%{THING:t}", custom_patterns_dir=str(tmp_path)).match("abc 1") == {"t": "abc"}


def test_int_and_float_convert_like_ruby() -> None:
    grok = Grok(r"(?<a>\S+) (?<b>\S+)", custom_patterns={})
    assert grok.match("x y") == {"a": "x", "b": "y"}
    conv = Grok(r"%{NOTSPACE:a:int} %{NOTSPACE:b:float} %{NOTSPACE:c:int}")
    assert conv.match("3.7 1.5e3 abc") == {"a": 3, "b": 1500.0, "c": 0}
    assert conv.match("+12 -.5 -7") == {"a": 12, "b": -0.5, "c": -7}


def test_an_expression_is_compiled_once_per_expansion() -> None:
    from pipeline.grok.grok import compile_expression
    from pipeline.grok.library import build_library

    library = build_library("v8")
    once = compile_expression("%{IP:client} %{WORD:verb}", library)
    assert compile_expression("%{IP:client} %{WORD:verb}", build_library("v8")) is once  # a worker's build
    # Anything the expansion depends on gives another compilation: a redefined pattern, other names.
    changed = compile_expression("%{IP:client} %{WORD:verb}", build_library("v8", custom_patterns={"WORD": "[a-z]+"}))
    assert changed is not once and changed.expanded.pattern != once.expanded.pattern
    assert compile_expression("%{IP:server} %{WORD:verb}", library) is not once
    assert compile_expression("%{IP:client:int} %{WORD:verb}", library) is not once
