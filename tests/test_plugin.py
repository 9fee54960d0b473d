from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from pipeline.errors import ConfigErrors, Location
from pipeline.fieldref import FieldRef
from pipeline.filters.base import Filter, FilterOptions
from pipeline.plugin import (
    ByteSize,
    Duration,
    PluginSpec,
    Secret,
    build_from_dict,
    build_options,
    describe,
    option,
)
from pipeline.template import Template


class Sample(Filter):
    """A sample filter for option validation tests."""

    name = "sample"

    @dataclass(frozen=True, kw_only=True)
    class Options(FilterOptions):
        field: FieldRef = option(doc="The field.")
        mode: Literal["fast", "slow"] = option("fast", "Mode.")
        count: int = option(1, "Count.", check=lambda v: "must be positive" if v <= 0 else None)
        ratio: float = option(0.5, "Ratio.")
        enabled: bool = option(True, "Flag.")
        names: list[str] = option([], "Names.")
        mapping: dict[str, str] = option({}, "Mapping.")
        wait: Duration = option(5, "Wait.")
        size: ByteSize = option("1kb", "Size.")
        password: Secret | None = option(None, "Password.")
        path: Path | None = option(None, "Path.")
        target: Template = option("%{x}", "Target.")
        ssl_enabled: bool = option(False, "TLS.", aliases=("ssl",))


def spec(**options):
    loc = Location("test.conf", 3, 5)
    return PluginSpec("filter", "sample", tuple((k, v, loc) for k, v in options.items()), loc)


def test_values_are_converted_by_annotation():
    opts = build_options(Sample, spec(field="[a][b]", mode="slow", count="3", ratio=1, enabled="false",
                                      names="one", mapping=["k1", "v1", "k2", "v2"], wait="250ms",
                                      size="2mb", password="hunter2", path="/tmp/x", ssl="true"))
    assert opts.field.path == ("a", "b")
    assert opts.mode == "slow" and opts.count == 3 and opts.ratio == 1.0 and opts.enabled is False
    assert opts.names == ["one"]
    assert opts.mapping == {"k1": "v1", "k2": "v2"}
    assert opts.wait == pytest.approx(0.25) and opts.size == 2 * 1024 * 1024
    assert repr(opts.password) == "<secret>" and opts.password.reveal() == "hunter2"
    assert opts.path == Path("/tmp/x") and opts.ssl_enabled is True
    assert opts.target.text == "%{x}"


def test_all_errors_are_reported_at_once_with_location_and_hints():
    with pytest.raises(ConfigErrors) as info:
        build_options(Sample, spec(mod="slow", count=0, mode="medium", enabled="maybe", id="s1"))
    messages = [e.render() for e in info.value.errors]
    assert len(messages) == 5
    assert 'test.conf:3:5: filter sample (id=s1): unknown option "mod" (did you mean "mode"?)' in messages
    assert any('option "count": must be positive' in m for m in messages)
    assert any("expected one of 'fast', 'slow'" in m for m in messages)
    assert any("expected true or false" in m for m in messages)
    assert any('missing required option "field"' in m for m in messages)


def test_malformed_field_reference_option_is_an_error():
    with pytest.raises(ConfigErrors) as info:
        build_options(Sample, spec(field="[a]b"))
    assert "invalid field reference" in info.value.errors[0].message


def test_repeated_hash_options_merge_like_logstash():
    loc = Location()
    s = PluginSpec("filter", "sample", (("field", "f", loc), ("mapping", {"a": "1"}, loc),
                                        ("mapping", {"b": "2"}, loc)), loc)
    assert build_options(Sample, s).mapping == {"a": "1", "b": "2"}


def test_unknown_plugin_names_the_kind_and_suggests():
    with pytest.raises(ConfigErrors) as info:
        build_from_dict("filter", "mutat", {})
    assert 'unknown filter plugin "mutat" (did you mean "mutate"?)' in info.value.errors[0].message


def test_describe_lists_options_with_types_defaults_and_docs():
    info = describe(Sample)
    by_name = {o["name"]: o for o in info["options"]}
    assert info["summary"] == "A sample filter for option validation tests."
    assert by_name["field"]["required"] is True
    assert by_name["mode"]["default"] == "fast" and by_name["mode"]["type"] == "'fast' | 'slow'"
    assert by_name["ssl_enabled"]["aliases"] == ["ssl"]
    assert "add_tag" in by_name  # common filter options come from the base


def test_nested_codec_option_builds_a_codec():
    plugin = build_from_dict("output", "stdout", {"codec": PluginSpec.of("codec", "json_lines", {})})
    assert plugin.codec.name == "json_lines"
    plugin = build_from_dict("output", "stdout", {"codec": "line"})
    assert plugin.codec.name == "line"


@pytest.mark.parametrize("text,seconds", [("250ms", 0.25), ("5s", 5), ("1m", 60), ("2h", 7200), ("7d", 604800),
                                          ("2 weeks", 1209600), ("5 seconds", 5), ("1 hour", 3600),
                                          ("10 mins", 600), (30, 30), ("1.5m", 90)])
def test_durations_accept_short_and_spelled_out_units(text, seconds):
    assert Duration.parse(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "5 parsecs", "-1s", "1.2.3s"])
def test_bad_durations_are_rejected_with_examples(text):
    with pytest.raises(ValueError, match="expected a duration like"):
        Duration.parse(text)


def test_variant_redeclares_an_inherited_option_keeping_its_type_and_check():
    from pipeline.plugin import _option_infos, option, variant

    @dataclass(frozen=True, kw_only=True)
    class Base:
        hosts: list[str] = option(["a:1"], "Where.", check=lambda v: None if v else "must not be empty")
        bucket: str = option(doc="The bucket.")

    @dataclass(frozen=True, kw_only=True)
    class Derived(Base):
        hosts: list[str] = variant(Base, "hosts", default=["b:2"], aliases=("host",))
        bucket: str = variant(Base, "bucket", doc="Bucket to read.")

    infos = {i.name: i for i in _option_infos(Derived)}
    assert infos["hosts"].default == ["b:2"] and infos["hosts"].aliases == ("host",)
    assert infos["hosts"].doc == "Where." and infos["hosts"].check is not None and infos["hosts"].check([])
    assert infos["bucket"].required and infos["bucket"].doc == "Bucket to read."
    assert {i.name: i.default for i in _option_infos(Base)}["hosts"] == ["a:1"]
    with pytest.raises(TypeError, match="declares no option 'nope'"):
        variant(Base, "nope")


def test_hash_options_take_flat_or_paired_arrays_and_never_crash_on_odd_ones():
    # ["k1", "v1", ...] is Logstash's array form of a hash; [["k1", "v1"], ...] is how elasticsearch filter
    # configs write their fields; an array holding arrays as keys is a config error, not a TypeError.
    assert build_options(Sample, spec(field="f", mapping=["a", "1", "b", "2"])).mapping == {"a": "1", "b": "2"}
    assert build_options(Sample, spec(field="f", mapping=[["a", "1"], ["b", "2"]])).mapping == {"a": "1", "b": "2"}
    with pytest.raises(ConfigErrors) as info:
        build_options(Sample, spec(field="f", mapping=[["a", "1", "x"], ["b"]]))
    assert 'option "mapping": expected a hash like' in info.value.errors[0].message


def test_summary_joins_the_first_paragraph_into_one_line_without_indentation():
    class Wrapped(Filter):
        """Reads one EDN map per chunk of data (anything else is kept in message,
        tagged _ednparsefailure);
            writes each event as an EDN map.

        Second paragraph, not in the summary.
        """

    class IndentedBlankLine(Filter):
        """First paragraph.
        \t
        Second one."""

    assert Wrapped.summary() == ("Reads one EDN map per chunk of data (anything else is kept in message, tagged "
                                 "_ednparsefailure); writes each event as an EDN map.")
    assert IndentedBlankLine.summary() == "First paragraph."

    class Undocumented(Filter):
        pass

    assert Undocumented.summary() == ""
