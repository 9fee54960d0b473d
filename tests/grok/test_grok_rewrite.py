"""The faster text ``re`` gets for ``.*?`` before a delimiter: rewritten only where provably equivalent."""

from __future__ import annotations

import random
import re

import pytest

from pipeline.grok import guard
from pipeline.grok.compiler import GrokError, expand
from pipeline.grok.guard import parse_tree
from pipeline.grok.library import build_library
from pipeline.grok.matcher import RE_FLAGS, CompiledExpression
from pipeline.grok.rewrite import compile_parsed, speed_up

re_compiler = getattr(re, "_compiler")  # noqa: B009 - re's internal compiler: no cache between the two


def test_a_lazy_wildcard_before_a_quote_scans_from_quote_to_quote() -> None:
    assert speed_up('"(?P<agent>.*?)"') == '"(?P<agent>[^"]*+(?:"[^"]*+)*?)"'
    assert speed_up(r"(?:-|(?:.*?))\[") == r"(?:-|(?:[^\[]*+(?:\[[^\[]*+)*?))\["


@pytest.mark.parametrize("pattern", [
    '(?>.*?)"',  # atomic: the wildcard is never extended
    '(?=.*?)"',  # the quote is not what follows the wildcard
    '.*?"?',  # an optional delimiter
    '(?:.*?)+"',  # a repeated group
    '(?:a.*?|b)"',  # another alternative comes first
    '.*?x',  # a letter: its case may be folded
    '(?i).*?"',  # inline flags: dot-all or case may differ
    '[.*?]"',  # a character class
    r'\.*?"',  # an escaped dot
])
def test_anything_else_is_left_as_is(pattern: str) -> None:
    assert speed_up(pattern) == pattern


PATTERNS = [
    '"(?P<a>.*?)" "(?P<b>.*?)"',
    '^(?P<a>.*?),(?P<b>.*?),(?P<c>.*?);$',
    '(?:-|(?P<a>.*?))" (?:-|(?P<b>.*?))"',
    '(?P<a>.*?)(?P<b>,)(?P<c>.*?)"x',
    '(?:(?P<a>.*?)),?(?P<b>.*?) ',
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_rewritten_pattern_finds_the_same_match_and_groups(pattern: str) -> None:
    faster = speed_up(pattern)
    assert faster != pattern
    original, rewritten = re.compile(pattern, RE_FLAGS), re.compile(faster, RE_FLAGS)
    noise = random.Random(pattern)
    for _ in range(3000):
        text = "".join(noise.choice('ab",; -\nx') for _ in range(noise.randint(0, 30)))
        first, second = original.search(text), rewritten.search(text)
        assert (first and (first.span(), first.groups())) == (second and (second.span(), second.groups())), text
        first, second = original.fullmatch(text), rewritten.fullmatch(text)
        assert (first and first.groups()) == (second and second.groups()), text


def _library_expressions() -> list[str]:
    """Every pattern of both bundled libraries, expanded, that runs on ``re``."""
    found = []
    for mode in ("v8", "disabled"):
        library = build_library(mode, [], "*", {})
        for name in library.names():
            try:
                expanded = expand(f"%{{{name}}}", library)
            except GrokError:
                continue
            if not expanded.needs_regex_module:
                found.append(expanded.pattern)
    return found


def test_the_tree_rewrite_compiles_what_the_text_rewrite_compiles() -> None:
    # Pattern equality compares the compiled code: the expression parsed once for the guard and
    # rewritten on its tree gives re's program for the rewritten text, byte for byte.
    expressions = _library_expressions()
    rewritten = 0
    # .*? nested and not, rewritten and not, in every order: each splice must land on its own node
    nested = ['(?:(?P<a>.*?)x|y).*?"', '.*?x(?:(?P<a>.*?)"|(?:z.*?))', '(?=.*?)(?:a(?:b.*?,)).*?;(?P<c>.*?)q']
    for pattern in [*PATTERNS, *nested, *expressions]:
        flags = int(RE_FLAGS)
        want = re_compiler.compile(speed_up(pattern), flags)  # not re.compile: no cached object
        got = compile_parsed(pattern, parse_tree(pattern, flags), flags)
        assert got == want and got.pattern == want.pattern and got.groupindex == want.groupindex, pattern
        rewritten += speed_up(pattern) != pattern
    assert len(expressions) > 500 and rewritten > 100  # the libraries exercise the rewrite widely


@pytest.mark.parametrize("pattern", ['(?:.)*?(?P<a>.*?)"', '.{0,}?,(?P<a>.*?)"'])
def test_other_spellings_of_a_lazy_wildcard_fall_back_to_the_text(pattern: str) -> None:
    # They parse to the node .*? parses to: the tree cannot be paired with the text's tokens
    flags = int(RE_FLAGS)
    got = compile_parsed(pattern, parse_tree(pattern, flags), flags)
    assert got == re_compiler.compile(speed_up(pattern), flags) and speed_up(pattern) != pattern


def test_a_compiled_expression_parses_its_pattern_once(monkeypatch) -> None:
    library = build_library("v8", [], "*", {})
    expanded = expand("%{COMBINEDAPACHELOG}", library)
    parsed = []
    real = guard.sre_parse.parse

    def counting(text, flags=0):  # type: ignore[no-untyped-def]
        parsed.append(text)
        return real(text, flags)

    monkeypatch.setattr(guard.sre_parse, "parse", counting)
    compiled = CompiledExpression(expanded)
    assert parsed.count(expanded.pattern) == 1 and speed_up(expanded.pattern) not in parsed
    assert compiled.risk == guard.assess(expanded.pattern, RE_FLAGS)  # the guard's verdict is unchanged
    assert compiled.fast == re_compiler.compile(speed_up(expanded.pattern), int(RE_FLAGS))
