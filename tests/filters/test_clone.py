"""clone: copies tagged (ECS) or typed (legacy), common options on copies only."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.testing import build_plugin, run_filters


def test_ecs_clones_are_tagged() -> None:
    out = run_filters('clone { clones => ["copy1", "copy2"] add_field => { "cloned" => "yes" } }', [{"m": 1}])
    assert len(out) == 3
    original = [e for e in out if not e.includes("cloned")]
    copies = [e for e in out if e.includes("cloned")]
    assert len(original) == 1 and original[0].tags == []
    assert sorted(t for e in copies for t in e.tags) == ["copy1", "copy2"]
    assert all(e.get("m") == 1 and not e.includes("type") for e in copies)


def test_legacy_clones_get_type() -> None:
    out = run_filters('clone { clones => ["sun"] ecs_compatibility => disabled }', [{"m": 1}])
    assert sorted(str(e.get("type")) for e in out) == ["None", "sun"]


def test_copies_are_independent() -> None:
    out = run_filters('clone { clones => ["c"] } if "c" in [tags] { mutate { replace => { "[n][v]" => "x" } } }',
                      [{"n": {"v": 1}}])
    assert sorted(str(e.get("[n][v]")) for e in out) == ["1", "x"]


def test_clones_required() -> None:
    with pytest.raises(ConfigError, match="clones"):
        build_plugin("filter", "clone { }")
