"""Property tests: any value written in the language parses back to itself; no input crashes the parser."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config.loader import parse_text
from pipeline.config.parser import parse_condition
from pipeline.errors import ConfigErrors

_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\$'), max_size=20)
_WORD = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{1,10}", fullmatch=True)
_SCALAR = st.one_of(
    _TEXT,
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda f: round(f, 3)),
    _WORD,
)
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(_TEXT, _WORD), inner, max_size=4)),
    max_leaves=12,
)


def render(value, bareword: bool = False) -> str:
    """Write a Python value in the config language (strings double-quoted)."""
    if isinstance(value, bool):
        raise AssertionError("no booleans in the text form")
    if isinstance(value, float):
        return repr(value) if "e" not in repr(value) else f"{value:.3f}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value if bareword else '"' + value + '"'
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    return "{ " + " ".join(f"{render(k)} => {render(v)}" for k, v in value.items()) + " }"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_VALUE)
def test_values_round_trip(value):
    config = parse_text(f"filter {{ x {{ v => {render(value)} }} }}")
    assert config.filters[0].option("v") == value


@settings(max_examples=120, deadline=None)
@given(st.text(alphabet='inputfilterouts{}[]()=>"\'#\n ,$:abc123-!~<>/\\ifelseandornot', max_size=80))
def test_arbitrary_text_never_crashes(text):
    try:
        parse_text(text, "fuzz.conf", env={})
    except ConfigErrors as exc:
        assert exc.errors
        assert all(e.location is not None and e.location.file == "fuzz.conf" for e in exc.errors)


@settings(max_examples=120, deadline=None)
@given(st.text(alphabet='[]()"\'=!~<>/ andornotxin0123abc,.-', max_size=40))
def test_arbitrary_conditions_never_crash(text):
    try:
        parse_condition(text, env={})
    except ConfigErrors as exc:
        assert exc.errors
