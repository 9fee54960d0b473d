"""The faster text ``re`` gets for ``.*?`` before a delimiter: rewritten only where provably equivalent."""

from __future__ import annotations

import random
import re

import pytest

from pipeline.grok.matcher import RE_FLAGS
from pipeline.grok.rewrite import speed_up


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
