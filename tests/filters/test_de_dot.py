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


def test_recursive_renames_dotted_keys_at_every_depth() -> None:
    [event] = run_filters("de_dot { recursive => true }",
                          [{"k8s": {"pod.name": "web", "labels": {"app.kubernetes.io/name": "api"}}, "top.x": {"y.z": 1}}])
    assert event.get("[k8s][pod_name]") == "web"
    assert event.get("[k8s][labels]") == {"app_kubernetes_io/name": "api"}
    assert event.get("top_x") == {"y_z": 1}


def test_recursive_with_fields_walks_only_below_the_listed_ones() -> None:
    [event] = run_filters('de_dot { recursive => true nested => true fields => ["[k8s]"] }',
                          [{"k8s": {"pod.name": "web"}, "other": {"a.b": 1}}])
    assert event.get("[k8s][pod][name]") == "web" and event.get("other") == {"a.b": 1}


def test_without_recursive_nested_objects_keep_their_dots() -> None:
    [event] = run_filters("de_dot {}", [{"k8s": {"pod.name": "web"}}])
    assert event.get("k8s") == {"pod.name": "web"}


def test_a_field_that_cannot_move_is_kept_and_the_event_tagged() -> None:
    [default_tag] = run_filters("de_dot { nested => true }", [{"a": "text", "a.b": 1}])
    [custom] = run_filters('de_dot { nested => true tag_on_failure => "_dedot_bad" add_tag => ["ok"] }',
                           [{"a": "text", "a.b": 1}])
    assert default_tag.get("a") == "text" and default_tag.get("[a.b]") == 1
    assert default_tag.tags == ["_de_dot_error"]
    assert custom.tags == ["_dedot_bad"]


def test_a_separator_with_a_dot_is_a_config_error() -> None:
    import pytest

    from pipeline.errors import ConfigErrors
    from pipeline.testing import build_plugin

    with pytest.raises(ConfigErrors, match="separator cannot be or contain"):
        build_plugin("filter", 'de_dot { separator => "." }')
