"""The one Ruby (Onigmo) regex translator: constructs real Logstash configs use, translated, not refused."""

from __future__ import annotations

import re

import pytest

from pipeline.rubyregex import TranslateError, compile_ruby, to_python, translate


@pytest.mark.parametrize(("ruby", "python"), [
    (r"^(?m){.*}$", r"^(?s:{.*}$)"),  # an inline flag after the start lasts to the end of its group
    (r"a(?i)b|c", r"a(?i:b|c)"),
    (r"(x(?m).)y", r"(x(?s:.))y"),
    (r"\S+*", r"(?:\S+)*"),  # nested repeat: Onigmo repeats the repeat
    (r"(ab)+*", r"(?:(ab)+)*"),
    (r"a{2}{3}", r"(?:a{2}){3}"),
    (r"[a-z]?*", r"(?:[a-z]?)*"),
    (r"a+?b*+c?+", r"a+?b*+c?+"),  # lazy and possessive stay as written
    (r"x{,3}", r"x{0,3}"),
    (r"\Ahead\z", r"\Ahead\Z"),
    (r"end\Z", r"end(?=\n?\Z)"),
    (r"[[:^digit:]]", r"[^0-9]"),
    (r"(?<word>\w+) \k<word>", r"(?P<word>\w+) (?P=word)"),
    (r"(?<a.b>\d)", r"(?P<g0>\d)"),  # names Python refuses are renamed
])
def test_plain_regexes_translate_to_python(ruby: str, python: str) -> None:
    assert to_python(ruby) == python
    re.compile(python)


def test_conditional_regexes_from_real_configs_match_as_in_ruby() -> None:
    multiline_json = compile_ruby(r"^(?m){.*}$")
    assert multiline_json.search('{"a":\n1}')
    assert not multiline_json.search("plain text")
    assert compile_ruby(r"^\S+*\s").match("word rest")
    assert compile_ruby(r"[[:xdigit:]]+\z").search("id=DEADbeef")


def test_grok_keeps_renaming_every_group() -> None:
    translated = translate(r"(?<ts>\d+) (?<msg>.*)")
    assert translated.pattern == r"(?P<g0>\d+) (?P<g1>.*)"
    assert [c.field for c in translated.captures] == ["ts", "msg"]


def test_untranslatable_syntax_is_a_clear_error() -> None:
    with pytest.raises(TranslateError, match="intersection"):
        to_python(r"[a-z&&[^aeiou]]")
    with pytest.raises(re.error, match="invalid regular expression"):
        compile_ruby("(unclosed")


def test_caret_and_dollar_are_line_anchors_as_in_ruby() -> None:
    # Ruby: "a\nERROR x" =~ /^ERROR/ matches; \A and \z still anchor the whole text.
    assert compile_ruby(r"^ERROR").search("first line\nERROR second")
    assert compile_ruby(r"done$").search("done\nmore")
    assert not compile_ruby(r"\AERROR").search("first line\nERROR second")
    assert compile_ruby(r"^\s+").sub("", "  a\n  b") == "a\nb"  # as Ruby's gsub(/^\s+/, "")


def test_a_nested_set_starting_with_a_colon_is_a_set_not_a_posix_bracket() -> None:
    # Onigmo reads "[:" as a POSIX bracket only when ":]" comes before the next "]" (Logstash's apache2
    # module config puts a [:.,] group inside a set opened by "\\[", and Logstash compiles it).
    assert compile_ruby(r"[a[:.,]b]").fullmatch(".") is not None
    assert compile_ruby(r"[x[:digit:]]+").fullmatch("x12") is not None
    with pytest.raises(TranslateError, match=r"unknown POSIX class \[::\]"):  # Onigmo: invalid POSIX bracket type
        to_python(r"[a[::]]")


@pytest.mark.parametrize(("ruby", "python"), [
    (r"a???", r"(?:a??)?"),  # a repeat of a lazy repeat (Onigmo warns, compiles and repeats it)
    (r"# ???()", r"#(?: ??)?()"),  # from a real Tenable config's conditional
    (r"a*??b", r"(?:a*?)?b"),
])
def test_a_repeat_after_a_lazy_repeat_repeats_it(ruby: str, python: str) -> None:
    assert to_python(ruby) == python
    assert re.compile(python) is not None
