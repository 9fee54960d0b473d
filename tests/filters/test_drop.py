"""drop: all events, inside conditionals, and by percentage."""

from __future__ import annotations

import random

import pytest

from pipeline.errors import ConfigError
from pipeline.testing import build_plugin, run_filters


def test_drop_everything() -> None:
    assert run_filters("drop { }", [{"a": 1}, {"a": 2}]) == []


def test_drop_inside_conditional() -> None:
    out = run_filters('if [level] == "debug" { drop { } }', [{"level": "debug"}, {"level": "info"}])
    assert [e.get("level") for e in out] == ["info"]


def test_percentage_samples() -> None:
    random.seed(1)
    out = run_filters("drop { percentage => 40 }", [{"n": i} for i in range(1000)])
    assert 500 < len(out) < 700  # about 60% kept
    assert run_filters("drop { percentage => 0 }", [{"n": 1}])[0].get("n") == 1


def test_percentage_range() -> None:
    with pytest.raises(ConfigError, match="between 0 and 100"):
        build_plugin("filter", "drop { percentage => 101 }")
