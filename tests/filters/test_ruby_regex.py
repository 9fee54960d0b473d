"""Ruby/Oniguruma regex and replacement translation used by mutate, kv, prune and translate."""

from __future__ import annotations

import re

import pytest

from pipeline.filters._rubyregex import compile_ruby, replacement, translate


@pytest.mark.parametrize(("ruby", "python"), [
    (r"(?<name>\d+)", r"(?P<name>\d+)"),
    (r"(?<=a)b(?<!c)", r"(?<=a)b(?<!c)"),
    (r"\h+\z", r"[0-9a-fA-F]+\Z"),
    (r"[\h_]", r"[0-9a-fA-F_]"),
    (r"[[:alpha:]][[:digit:]]", "[a-zA-Z\u00c0-\U0010ffff][0-9]"),  # Onigmo's alpha takes non-ASCII letters
    (r"[]a]", r"[\]a]"),
    (r"\(?<x>", r"\(?<x>"),
])
def test_translate(ruby: str, python: str) -> None:
    assert translate(ruby) == python


def test_compile_falls_back_to_regex_module_for_unicode_properties() -> None:
    assert compile_ruby(r"\p{Lu}+").sub("_", "abCDe") == "ab_e"
    with pytest.raises(re.error, match="invalid regular expression"):
        compile_ruby("(unclosed")


@pytest.mark.parametrize(("template", "expected"), [
    (r"<\1>", "<12>"), (r"\0!", "12-ab!"), (r"\2\1", "ab12"), (r"a\\b", "a\\b"), (r"\9", ""), ("plain", "plain"),
])
def test_replacement(template: str, expected: str) -> None:
    pattern = compile_ruby(r"(\d+)-(\w+)")
    assert pattern.sub(replacement(template), "12-ab") == expected


def test_named_replacement() -> None:
    assert compile_ruby(r"(?<n>\d+)-(?<w>\w+)").sub(replacement(r"\k<w>=\k<n>"), "12-ab") == "ab=12"
