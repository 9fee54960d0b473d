"""de_dot: separator, nested, fields."""

from __future__ import annotations

from pipeline.testing import run_filters


def test_top_level_dotted_names_are_renamed_and_nested_ones_left_alone() -> None:
    [event] = run_filters('de_dot { add_tag => ["dedotted"] }',
                          [{"kubernetes.pod.name": "web", "c": {"d.e": 2}, "@metadata": {"m.n": 1}}])
    assert event.get("kubernetes_pod_name") == "web" and event.get("c") == {"d.e": 2}
    assert not event.includes("[kubernetes.pod.name]") and event.get("[@metadata]") == {"m.n": 1}
    assert event.tags == ["dedotted"]


def test_separator_and_nested() -> None:
    [sep] = run_filters('de_dot { separator => "__" }', [{"a.b.c": 1}])
    [nested] = run_filters("de_dot { nested => true }", [{"a.b.c": 1, "a.x": 2}])
    assert sep.get("a__b__c") == 1
    assert nested.get("a") == {"b": {"c": 1}, "x": 2}


def test_fields_reach_inside_objects_and_absent_ones_are_skipped() -> None:
    [event] = run_filters('de_dot { fields => ["[labels][app.kubernetes.io/name]", "missing.field", "top.level"] }',
                          [{"labels": {"app.kubernetes.io/name": "api"}, "top.level": 1, "other.one": 2}])
    assert event.get("[labels][app_kubernetes_io/name]") == "api" and event.get("top_level") == 1
    assert event.get("[other.one]") == 2 and not event.includes("missing_field")
