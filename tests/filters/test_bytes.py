"""bytes: source, target, conversion_method, digit_group_separator, decimal_separator, tag_on_failure; compared with
coreutils' numfmt on sizes printed by df."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from pipeline.errors import ConfigErrors
from pipeline.testing import build_plugin, run_filters


def _sizes(config: str, values: list) -> list:
    return [(e.get("bytes"), e.tags) for e in run_filters(config, [{"size": v} for v in values])]


def test_binary_units_by_default() -> None:
    out = _sizes('bytes { source => "size" target => "bytes" add_tag => ["ok"] }', ["123 MB", "5.3GB", "1 024 kb", "17", "2t"])
    # Rounded to whole bytes, as Logstash's result.round
    assert out == [(128974848, ["ok"]), (5690831667, ["ok"]), (1048576, ["ok"]), (17, ["ok"]),
                   (2 * 1024**4, ["ok"])]
    assert all(type(value) is int for value, _ in out)


def test_metric_units_and_custom_separators() -> None:
    config = """bytes { source => "size" target => "bytes" conversion_method => "metric"
                        decimal_separator => "," digit_group_separator => "." }"""
    assert _sizes(config, ["1.000,5 kB", "2,5 G", "1 EB"]) == [(1000500, []), (2500000000, []), (10**18, [])]


def test_prefix_system_is_an_old_name_of_conversion_method(caplog) -> None:
    plugin = build_plugin("filter", 'bytes { target => "b" prefix_system => "metric" }')
    assert plugin.options.conversion_method == "metric"
    assert 'option "prefix_system" is deprecated, use "conversion_method"' in caplog.text


def test_unparseable_values_are_tagged() -> None:
    config = 'bytes { source => "size" target => "bytes" tag_on_failure => ["_bytes_bad"] }'
    out = _sizes(config, ["lots", "", "1,5 kB", "3 ZB", "1.2.3 kB", None, True])
    assert all(tags == ["_bytes_bad"] and value is None for value, tags in out)


def test_same_separators_are_a_config_error() -> None:
    with pytest.raises(ConfigErrors, match="cannot be the same"):
        build_plugin("filter", 'bytes { target => "b" decimal_separator => "," digit_group_separator => "," }')


def test_agrees_with_numfmt_on_real_df_sizes() -> None:
    df, numfmt = shutil.which("df"), shutil.which("numfmt")
    if not df or not numfmt:
        pytest.skip("coreutils df/numfmt not available")
    listing = subprocess.run([df, "-h", "--output=size,used,avail"], capture_output=True, text=True, check=True)
    sizes = [word for line in listing.stdout.splitlines()[1:] for word in line.split()
             if word[-1] in "KMGTP" and word[:-1].replace(".", "").isdigit()]
    assert sizes
    expected = subprocess.run([numfmt, "--from=iec", *sizes], capture_output=True, text=True, check=True)
    out = _sizes('bytes { source => "size" target => "bytes" }', sizes)
    for (value, tags), want in zip(out, expected.stdout.split(), strict=True):
        assert not tags and abs(value - int(want)) < 1  # numfmt rounds up to whole bytes
