"""useragent: ECS and legacy fields as Logstash 8 writes them, prefix, target, custom regexes, cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.event import Event
from pipeline.testing import build_plugin, run_filters

CHROME = ("Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/32.0.1700.107 Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 12_2 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/12.1 Mobile/15E148 Safari/604.1")
SAFARI = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/12.0 Safari/605.1.15")


def test_ecs_fields_merge_into_user_agent() -> None:
    [event] = run_filters('useragent { source => "[user_agent][original]" add_tag => ["ua"] }',
                          [{"user_agent": {"original": CHROME}}])
    assert event.get("user_agent") == {
        "original": CHROME,  # kept: the filter adds to the object, it does not replace it
        "name": "Chrome", "version": "32.0.1700.107", "device": {"name": "Other"},
        "os": {"name": "Windows", "version": "7", "full": "Windows 7"},
    }
    assert event.get("[@metadata][filter][user_agent][version]") == {"major": "32", "minor": "0", "patch": "1700"}
    assert event.get("[@metadata][filter][user_agent][os][version][major]") == "7"
    assert event.has_tag("ua")


def test_version_completed_from_the_string_and_named_os_versions() -> None:
    [event] = run_filters('useragent { source => "ua" }', [{"ua": "Mozilla/5.0 (Windows NT 6.0) Firefox/45.0"}])
    assert event.get("[user_agent][version]") == "45.0"
    assert event.get("[user_agent][os][full]") == "Windows Vista"


def test_device() -> None:
    [event] = run_filters('useragent { source => "agent" target => "ua" }', [{"agent": IPHONE}])
    assert event.get("[ua][device][name]") == "iPhone" and event.get("[ua][os][name]") == "iOS"


def test_legacy_fields_with_prefix() -> None:
    [event] = run_filters('useragent { source => "agent" ecs_compatibility => disabled prefix => "ua_" }',
                          [{"agent": SAFARI}])
    assert event.get("ua_name") == "Safari" and event.get("ua_version") == "12.0"
    assert event.get("ua_major") == "12" and event.get("ua_minor") == "0" and not event.includes("ua_patch")
    assert event.get("ua_os_name") == "Mac OS X" == event.get("ua_os")
    assert event.get("ua_os_full") == "Mac OS X 10.14" and event.get("ua_os_version") == "10.14"
    assert event.get("ua_os_major") == "10" and event.get("ua_os_minor") == "14"
    assert not event.includes("[@metadata][filter]")


def test_legacy_under_target() -> None:
    [event] = run_filters('useragent { source => "agent" ecs_compatibility => disabled target => "ua" }',
                          [{"agent": CHROME}])
    assert event.get("[ua][name]") == "Chrome" and event.get("[ua][device]") == "Other"


def test_missing_or_empty_source_does_nothing() -> None:
    out = run_filters('useragent { source => "agent" add_tag => ["ua"] }', [{}, {"agent": ""}])
    assert all(e.tags == [] and not e.includes("user_agent") for e in out)


def test_array_source_uses_first_element() -> None:
    [event] = run_filters('useragent { source => "agent" }', [{"agent": [CHROME, IPHONE]}])
    assert event.get("[user_agent][name]") == "Chrome"


def test_cache_is_bounded_and_results_independent() -> None:
    plugin = build_plugin("filter", 'useragent { source => "agent" lru_cache_size => 1 }')
    first, second = Event({"agent": CHROME}), Event({"agent": CHROME})
    plugin.filter(first)
    first.get("[user_agent][os]")["name"] = "changed"
    plugin.filter(second)
    plugin.filter(Event({"agent": IPHONE}))
    assert second.get("[user_agent][os][name]") == "Windows"
    assert len(plugin._cache) == 1


def test_parse_in_place_replaces_the_string() -> None:
    [event] = run_filters('useragent { source => "ua" target => "ua" }', [{"ua": CHROME}])
    assert event.get("[ua][name]") == "Chrome" and isinstance(event.get("ua"), dict)


def test_custom_regexes(tmp_path: Path) -> None:
    regexes = tmp_path / "regexes.yaml"
    regexes.write_text(
        "user_agent_parsers:\n  - regex: '(AcmeBot)/(\\d+)\\.(\\d+)'\n"
        "os_parsers:\n  - regex: '(AcmeOS) (\\d+)'\ndevice_parsers:\n  - regex: '(AcmePhone)'\n")
    [event] = run_filters(f'useragent {{ source => "ua" regexes => "{regexes}" }}',
                          [{"ua": "AcmeBot/2.5 (AcmeOS 3; AcmePhone)"}])
    assert event.get("[user_agent][name]") == "AcmeBot" and event.get("[user_agent][version]") == "2.5"
    assert event.get("[user_agent][os][name]") == "AcmeOS" and event.get("[user_agent][device][name]") == "AcmePhone"
    broken = tmp_path / "broken.yaml"
    broken.write_text("user_agent_parsers: [ {regex: '('} ]\n")
    with pytest.raises(ConfigError, match="regexes"):
        build_plugin("filter", f'useragent {{ source => "ua" regexes => "{broken}" }}')
